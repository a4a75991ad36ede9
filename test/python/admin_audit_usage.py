"""OpenAI's Python SDK audit log, usage and costs methods against Tollgate, in strict response-validation mode.

Run by test/admin-python-audit-usage.test.ts with TOLLGATE_URL, TOLLGATE_ADMIN_KEY and TOLLGATE_FIXTURE (JSON: the
project, the two keys and the day their usage was recorded on). Every answer is parsed and validated by the SDK's own
models (a contradiction raises). Audit entries of Tollgate's own event types are outside the SDK's Literal of OpenAI's
types, so the strict client reads OpenAI's types (filtered with event_types); the default (non-strict) client, as
scripts use it, reads the whole log. The last line printed is a JSON summary the test checks.
"""

import json
import os

import openai
from openai import OpenAI

fixture = json.loads(os.environ["TOLLGATE_FIXTURE"])
common = dict(base_url=os.environ["TOLLGATE_URL"] + "/v1", admin_api_key=os.environ["TOLLGATE_ADMIN_KEY"], max_retries=0)
org = OpenAI(**common, _strict_response_validation=True).admin.organization
lenient = OpenAI(**common).admin.organization
seen = {"sdk": openai.__version__}
project, key_a, key_b, day = fixture["project"], fixture["key_a"], fixture["key_b"], fixture["day"]

# Audit logs: OpenAI's types, strictly, across pages, with every filter the SDK has.
openai_types = ["project.created", "project.updated", "api_key.created", "login.succeeded", "logout.succeeded", "user.added"]
strict = list(org.audit_logs.list(limit=2, event_types=openai_types))
assert len(strict) >= 6 and len({e.id for e in strict}) == len(strict), strict
assert {e.type for e in strict} >= {"project.created", "project.updated", "api_key.created", "login.succeeded"}, {e.type for e in strict}
updates = list(org.audit_logs.list(limit=2, event_types=["project.updated"], project_ids=[project], resource_ids=[project], actor_ids=[fixture["admin_key_id"]]))
assert len(updates) == 3 and all(e.project.id == project and e.actor.type == "api_key" for e in updates), updates
at = updates[0].effective_at
ranged = list(org.audit_logs.list(effective_at={"gte": at, "lte": at}, event_types=["project.updated"]))
assert ranged and all(e.effective_at == at for e in ranged), ranged
signed = list(org.audit_logs.list(actor_emails=["OWNER@example.com"], event_types=["login.succeeded"]))
assert signed and signed[0].actor.session.user.email == "owner@example.com", signed
back = org.audit_logs.list(limit=1, event_types=openai_types, before=strict[2].id)
assert [e.id for e in back.data] == [strict[1].id], back
assert org.audit_logs.list(tenant_only=True).data == []
key_created = next(e for e in strict if e.type == "api_key.created")
assert isinstance(key_created.api_key_created.data.scopes, list), key_created
# The whole log, as scripts read it (not strict): Tollgate's own types come through as they are.
everything = list(lenient.audit_logs.list(limit=5))
assert len(everything) > len(strict), (len(everything), len(strict))
seen["audit_types"] = sorted({e.type for e in everything})
# Strictly, those are refused by the SDK's Literal (which is how it is known the strict client checks every entry).
try:
    list(org.audit_logs.list(limit=100))
    raise AssertionError("the strict client should refuse an event type outside OpenAI's list")
except openai.APIResponseValidationError:
    seen["strict_refuses_tollgate_types"] = True

# Costs by key, for named keys, for a key nobody has.
costs = org.usage.costs(start_time=day, end_time=day + 86400, group_by=["api_key_id"], api_key_ids=[key_a, key_b], project_ids=[project])
by_key = {r.api_key_id: r.amount.value for r in costs.data[0].results}
assert by_key == {key_a: 0.001, key_b: 0.00025}, by_key
assert org.usage.costs(start_time=day, end_time=day + 86400, api_key_ids=["key_nobody"]).data[0].results == []
items = org.usage.costs(start_time=day, end_time=day + 86400, group_by=["line_item", "project_id"])
assert items.data[0].results and all(r.line_item for r in items.data[0].results), items

# Usage of every kind (file search and web search calls included), validated strictly.
span = dict(start_time=day, end_time=day + 86400)
done = org.usage.completions(**span, group_by=["api_key_id", "user_id", "model", "batch"], api_key_ids=[key_a], batch=False, bucket_width="1d")
assert done.data[0].results[0].api_key_id == key_a and done.data[0].results[0].input_tokens == 10, done
for page in [
    org.usage.embeddings(**span, group_by=["model"]),
    org.usage.moderations(**span),
    org.usage.images(**span, group_by=["project_id"]),
    org.usage.audio_speeches(**span),
    org.usage.audio_transcriptions(**span),
    org.usage.vector_stores(**span),
    org.usage.code_interpreter_sessions(**span),
    org.usage.file_search_calls(**span, group_by=["vector_store_id"], vector_store_ids=["vs_1"]),
    org.usage.web_search_calls(**span, group_by=["context_level"], context_levels=["high"]),
]:
    assert page.object == "page" and [b.results for b in page.data] == [[]], page
tiers = org.usage.completions(**span, group_by=["service_tier"], bucket_width="1d")
assert [(r.service_tier, r.num_model_requests) for r in tiers.data[0].results] == [("default", 1), ("flex", 1)], tiers

seen["ok"] = True
print(json.dumps(seen))
