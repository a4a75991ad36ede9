"""The built-in tollgate-echo model through OpenAI's Python SDK, in its strict response-validation mode.

Run by test/echo-python.test.ts with TOLLGATE_URL (the server's origin) and TOLLGATE_KEY (a project key); every
answer is parsed and validated by the SDK's own models, and a failed check raises (non-zero exit).
"""

import base64
import json
import math
import os
import struct

import openai
from openai import OpenAI

MODEL = "tollgate-echo"

client = OpenAI(
    base_url=os.environ["TOLLGATE_URL"] + "/v1",
    api_key=os.environ["TOLLGATE_KEY"],
    max_retries=0,
    _strict_response_validation=True,
)
seen = {"sdk": openai.__version__}

# Chat: object, stream with usage, and the chat.completions.stream() helper.
chat = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hello from python"}])
assert chat.choices[0].message.content == "hello from python", chat
assert chat.usage is not None and chat.usage.completion_tokens == 3, chat.usage
assert chat._request_id and chat._request_id.startswith("req_"), chat._request_id
seen["request_id"] = chat._request_id

text, usage = "", None
for chunk in client.chat.completions.create(
    model=MODEL, messages=[{"role": "user", "content": "one two three"}], stream=True, stream_options={"include_usage": True}
):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    usage = chunk.usage or usage
assert text == "one two three", text
assert usage is not None and usage.completion_tokens == 3, usage

with client.chat.completions.stream(model=MODEL, messages=[{"role": "user", "content": "helped along"}]) as stream:
    for _ in stream:
        pass
    final = stream.get_final_completion()
assert final.choices[0].message.content == "helped along", final

# Completions.
completion = client.completions.create(model=MODEL, prompt="say this")
assert completion.choices[0].text == "say this", completion

# Embeddings: the SDK asks for base64 by default and decodes it; floats with dimensions. Its strict mode checks the
# answer against its float-list model before it decodes base64 (it would refuse OpenAI's own answer the same way), so
# the default call goes through a client without it.
lenient = client.with_options()
lenient._strict_response_validation = False
default = lenient.embeddings.create(model=MODEL, input="embed me")
vector = default.data[0].embedding
assert len(vector) == 1536 and abs(math.sqrt(sum(v * v for v in vector)) - 1) < 1e-5, len(vector)
floats = client.embeddings.create(model=MODEL, input="embed me", encoding_format="float")
assert floats.data[0].embedding == vector
raw = client.embeddings.with_raw_response.create(model=MODEL, input="embed me", encoding_format="base64")
b64 = json.loads(raw.http_response.text)["data"][0]["embedding"]
assert list(struct.unpack("<1536f", base64.b64decode(b64))) == vector
short = client.embeddings.create(model=MODEL, input="embed me", dimensions=64, encoding_format="float")
assert len(short.data[0].embedding) == 64

# Responses: object, the responses.stream() helper, and raw stream events.
response = client.responses.create(model=MODEL, input="respond please")
assert response.output_text == "respond please", response
assert response.status == "completed"

deltas = []
with client.responses.stream(model=MODEL, input="helper text") as stream:
    for event in stream:
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    final_response = stream.get_final_response()
assert "".join(deltas) == "helper text", deltas
assert final_response.output_text == "helper text", final_response

types = [event.type for event in client.responses.create(model=MODEL, input="raw events", stream=True)]
assert types[0] == "response.created" and types[-1] == "response.completed", types
seen["response_events"] = types

# A refused request: the SDK's error, with Tollgate's request id.
try:
    client.chat.completions.create(model=MODEL, messages=[])
    raise AssertionError("an empty messages list was answered")
except openai.BadRequestError as err:
    assert err.code == "empty_array", err
    assert err.request_id and err.request_id.startswith("req_"), err.request_id
    seen["error_request_id"] = err.request_id

print(json.dumps(seen))
