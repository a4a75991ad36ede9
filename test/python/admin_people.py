"""OpenAI's Python SDK admin methods (client.admin.organization.*) against Tollgate, in strict response-validation mode.

Run by test/admin-python-people.test.ts with TOLLGATE_URL (the server's origin) and TOLLGATE_ADMIN_KEY (an admin
key): projects, project API keys, service accounts, admin API keys, invites, users and project users. Every answer is
parsed and validated by the SDK's own models (a contradiction raises); lists are read by auto-pagination across
several pages. The last line printed is a JSON summary the test checks.
"""

import json
import os

import openai
from openai import OpenAI

client = OpenAI(
    base_url=os.environ["TOLLGATE_URL"] + "/v1",
    admin_api_key=os.environ["TOLLGATE_ADMIN_KEY"],
    max_retries=0,
    _strict_response_validation=True,
)
org = client.admin.organization
seen = {"sdk": openai.__version__}


def ids(page):
    """Every id of a list, following the SDK's cursor."""
    return [item.id for item in page]


def not_found(call):
    try:
        call()
    except openai.NotFoundError as e:
        assert e.code == "not_found", e
        return True
    raise AssertionError("expected a 404")


# Projects: every field of ProjectCreateRequest, update, archive, pages.
made = [org.projects.create(name=f"Py project {i}", residency="EU_STORAGE_PROCESSING", external_key_id=f"ekm_{i}") for i in range(4)]
assert made[0].residency == "EU_STORAGE_PROCESSING" and made[0].external_key_id == "ekm_0", made[0]
older = org.projects.create(name="Py geography", geography="US")
assert org.projects.retrieve(made[0].id).name == "Py project 0"
updated = org.projects.update(made[0].id, name="Py renamed", external_key_id=None)
assert updated.name == "Py renamed" and updated.external_key_id is None, updated
assert org.projects.archive(made[3].id).status == "archived"
listed = ids(org.projects.list(limit=2))
assert set(p.id for p in made[:3]) <= set(listed) and made[3].id not in listed, listed
assert made[3].id in ids(org.projects.list(limit=2, include_archived=True))
not_found(lambda: org.projects.retrieve("proj_nope"))

# Service accounts and project API keys.
p = made[1].id
first = org.projects.service_accounts.create(p, name="Py account")
assert first.api_key is not None and first.api_key.value.startswith("sk-tg-"), first
alone = org.projects.service_accounts.create(p, name="Py alone", create_service_account_only=True)
assert alone.api_key is None, alone
assert org.projects.service_accounts.update(alone.id, project_id=p, name="Py alone, renamed", role="owner").role == "owner"
assert org.projects.service_accounts.retrieve(alone.id, project_id=p).name == "Py alone, renamed"
more = [
    org.projects.service_accounts.api_keys.create(alone.id, project_id=p, name=f"Py key {i}", scopes=["api.model.request"], expires_in_seconds=3600)
    for i in range(4)
]
assert set([first.id, alone.id]) <= set(ids(org.projects.service_accounts.list(p, limit=2)))
keys = list(org.projects.api_keys.list(p, limit=2, owner_project_access="any"))
assert [k.id for k in keys] == [first.api_key.id] + [k.id for k in more], keys
assert all(k.owner_project_access == "active" and k.owner.type == "service_account" for k in keys), keys
assert ids(org.projects.api_keys.list(p, owner_project_access="inactive")) == []
assert org.projects.api_keys.retrieve(more[0].id, project_id=p).owner.service_account.id == alone.id
assert org.projects.api_keys.delete(more[0].id, project_id=p).deleted is True
not_found(lambda: org.projects.api_keys.retrieve(more[0].id, project_id=p))
assert more[0].id not in ids(org.projects.api_keys.list(p, limit=2))
assert org.projects.service_accounts.delete(alone.id, project_id=p).deleted is True

# Admin API keys: expires_in_seconds, the owner object, both orders.
admins = [org.admin_api_keys.create(name=f"Py admin {i}", expires_in_seconds=600) for i in range(3)]
assert admins[0].value.startswith("sk-tg-admin-") and admins[0].expires_at == admins[0].created_at + 600, admins[0]
assert admins[0].owner.type == "organization", admins[0].owner
assert org.admin_api_keys.retrieve(admins[0].id).name == "Py admin 0"
asc = ids(org.admin_api_keys.list(limit=2))
assert ids(org.admin_api_keys.list(limit=2, order="desc")) == list(reversed(asc))
assert org.admin_api_keys.delete(admins[0].id).deleted is True
not_found(lambda: org.admin_api_keys.retrieve(admins[0].id))

# Invites.
invites = [org.invites.create(email=f"py{i}@example.com", role="reader", projects=[{"id": p, "role": "member"}]) for i in range(3)]
assert invites[0].created_at and invites[0].projects[0].role == "member", invites[0]
assert org.invites.retrieve(invites[1].id).email == "py1@example.com"
assert set(i.id for i in invites) <= set(ids(org.invites.list(limit=2)))
assert org.invites.delete(invites[0].id).deleted is True
not_found(lambda: org.invites.retrieve(invites[0].id))

# Users (made through Tollgate's own route: OpenAI adds users by invitation) and project users.
users = json.loads(os.environ["TOLLGATE_USERS"])
wanted = [users[1]["email"].upper(), users[3]["email"]]
assert ids(org.users.list(emails=wanted, limit=1)) == [users[1]["id"], users[3]["id"]]
assert set(u["id"] for u in users) <= set(ids(org.users.list(limit=2)))
changed = org.users.update(users[0]["id"], role="owner", technical_level="expert", developer_persona="builder")
assert changed.role == "owner" and changed.technical_level == "expert", changed
assert org.users.retrieve(users[0]["id"]).developer_persona == "builder"
members = org.projects.users
for u in users:
    members.create(p, email=u["email"], role="member")
assert ids(members.list(p, limit=3)) == [u["id"] for u in users]
assert members.update(users[1]["id"], project_id=p, role="owner").role == "owner"
assert members.retrieve(users[1]["id"], project_id=p).role == "owner"
assert members.delete(users[2]["id"], project_id=p).deleted is True
not_found(lambda: members.retrieve(users[2]["id"], project_id=p))
assert org.users.delete(users[3]["id"]).deleted is True
not_found(lambda: org.users.retrieve(users[3]["id"]))
# A loop that lists and removes: each page is asked for after the member just removed.
looped = []
for m in members.list(p, limit=1):
    members.delete(m.id, project_id=p)
    looped.append(m.id)
assert looped == [users[0]["id"], users[1]["id"]], looped

seen["ok"] = True
seen["projects_listed"] = len(listed)
print(json.dumps(seen))
