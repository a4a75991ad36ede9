"""OpenAI's Python SDK admin methods for project rate limits, spend limits and spend alerts against Tollgate, in strict
response-validation mode.

Run by test/admin-python-limits.test.ts with TOLLGATE_URL, TOLLGATE_ADMIN_KEY and TOLLGATE_MODELS (the models the
server lists a rate limit for, in order). Every answer is parsed and validated by the SDK's own models (a
contradiction raises); lists are read by auto-pagination across several pages. The last line printed is a JSON summary
the test checks.
"""

import json
import os

import openai
from openai import OpenAI

UNLIMITED = 2**53 - 1

client = OpenAI(
    base_url=os.environ["TOLLGATE_URL"] + "/v1",
    admin_api_key=os.environ["TOLLGATE_ADMIN_KEY"],
    max_retries=0,
    _strict_response_validation=True,
)
org = client.admin.organization
models = json.loads(os.environ["TOLLGATE_MODELS"])
seen = {"sdk": openai.__version__}


def ids(page):
    return [item.id for item in page]


def refused(call, error):
    try:
        call()
    except error:
        return True
    raise AssertionError(f"expected {error.__name__}")


p = org.projects.create(name="Py limits").id

# Rate limits: one per model across pages, every member of the update, a page before a cursor.
rates = org.projects.rate_limits
listed = list(rates.list_rate_limits(p, limit=2))
assert [r.model for r in listed] == models, listed
assert all(r.max_requests_per_1_minute == UNLIMITED and r.max_requests_per_1_day is None for r in listed), listed
limits = dict(
    max_requests_per_1_minute=500,
    max_tokens_per_1_minute=150_000,
    max_images_per_1_minute=10,
    max_audio_megabytes_per_1_minute=20,
    max_requests_per_1_day=10_000,
    batch_1_day_max_input_tokens=1_000_000,
)
updated = rates.update_rate_limit(f"rl-{models[0]}", project_id=p, **limits)
assert updated.id == f"rl-{models[0]}" and updated.model == models[0], updated
assert all(getattr(updated, k) == v for k, v in limits.items()), updated
before = rates.list_rate_limits(p, limit=1, before=f"rl-{models[2]}")
assert [r.model for r in before.data] == [models[1]], before
refused(lambda: rates.update_rate_limit("rl-not-served", project_id=p, max_requests_per_1_minute=1), openai.NotFoundError)
seen["rate_limits"] = len(listed)

# Spend limits, a project's and the organization's.
for spend in (
    dict(update=lambda **b: org.projects.spend_limit.update(p, **b), get=lambda: org.projects.spend_limit.retrieve(p), delete=lambda: org.projects.spend_limit.delete(p), object="project.spend_limit"),
    dict(update=lambda **b: org.spend_limit.update(**b), get=lambda: org.spend_limit.retrieve(), delete=lambda: org.spend_limit.delete(), object="organization.spend_limit"),
):
    refused(spend["get"], openai.NotFoundError)
    made = spend["update"](threshold_amount=10_000, currency="USD", interval="month")
    assert made.object == spend["object"] and made.threshold_amount == 10_000 and made.enforcement.status == "enforcing", made
    assert spend["get"]().threshold_amount == 10_000
    deleted = spend["delete"]()
    assert deleted.deleted is True and deleted.object == spend["object"] + ".deleted", deleted
    refused(spend["get"], openai.NotFoundError)

# Spend alerts, a project's and the organization's: pages in both orders, retrieve, update, delete.
channel = {"type": "email", "recipients": ["finance@example.com"], "subject_prefix": "Spend"}
project_alerts = org.projects.spend_alerts
for alerts in (
    dict(
        create=lambda n: project_alerts.create(p, threshold_amount=n, currency="USD", interval="month", notification_channel=channel),
        list=lambda **q: project_alerts.list(p, **q),
        get=lambda i: project_alerts.retrieve(i, project_id=p),
        update=lambda i, n: project_alerts.update(i, project_id=p, threshold_amount=n, currency="USD", interval="month", notification_channel=channel),
        delete=lambda i: project_alerts.delete(i, project_id=p),
        object="project.spend_alert",
    ),
    dict(
        create=lambda n: org.spend_alerts.create(threshold_amount=n, currency="USD", interval="month", notification_channel=channel),
        list=lambda **q: org.spend_alerts.list(**q),
        get=lambda i: org.spend_alerts.retrieve(i),
        update=lambda i, n: org.spend_alerts.update(i, threshold_amount=n, currency="USD", interval="month", notification_channel=channel),
        delete=lambda i: org.spend_alerts.delete(i),
        object="organization.spend_alert",
    ),
):
    made = [alerts["create"](n) for n in (100, 200, 300, 400, 500)]
    assert made[0].object == alerts["object"] and made[0].notification_channel.recipients == ["finance@example.com"], made[0]
    made_ids = [a.id for a in made]
    assert ids(alerts["list"](limit=2)) == made_ids
    assert ids(alerts["list"](limit=2, order="desc")) == list(reversed(made_ids))
    assert alerts["get"](made_ids[1]).threshold_amount == 200
    assert alerts["update"](made_ids[1], 250).threshold_amount == 250
    gone = alerts["delete"](made_ids[0])
    assert gone.deleted is True and gone.object == alerts["object"] + ".deleted", gone
    refused(lambda: alerts["get"](made_ids[0]), openai.NotFoundError)
    assert ids(alerts["list"]()) == made_ids[1:]
    # A loop that lists and deletes: each page is asked for after the alert just deleted.
    looped = []
    for a in alerts["list"](limit=1):
        alerts["delete"](a.id)
        looped.append(a.id)
    assert looped == made_ids[1:], looped
    seen[alerts["object"]] = len(made_ids)

seen["ok"] = True
print(json.dumps(seen))
