"""Issue 19 §7: no 500 for any input on the staff pages. Hypothesis generates the query parameters,
path parameters and form fields of every route of the route table (numbers past 2**63, days
01/01/0001 and 31/12/9999, look-alike digits, NUL, very long and odd text), sent by an account
of a role the route is for (and without a session); every response must be < 500. The request
counts are printed."""
from __future__ import annotations

import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import csrf_of, seed_world
from tests.security.test_sec_matrix import DESIGN, PUBLIC, route_table

NASTY = ["", "0", "-1", "1", "99999999999999999999", str(2 ** 63), str(2 ** 64 + 1), "1e309", "NaN", "01/01/0001",
         "31/12/9999", "0001-01-01", "9999-12-31", "32/13/2020", "００１０８８０１２３４５", "٠٠١", "../../etc/passwd",
         "<script>x</script>", "' OR 1=1 --", "\x00", "a" * 5000, "Đ" * 300, "%", "\\", "asc", "desc", "received"]
value = st.one_of(st.sampled_from(NASTY), st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(str),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
FIELDS = ["page", "q", "status", "procedure", "unit", "date_from", "date_to", "late", "sort", "dir", "run", "book",
          "year", "next", "subject", "name", "birth_date", "channel", "reason", "note", "officer_id", "officer",
          "request", "passphrase", "target", "other", "after", "degrees", "copies", "code", "suggested", "doc_type",
          "override_reason", "confirm", "document_id", "result_document_id", "new_date", "role", "password",
          "username", "subject_id", "field:ho_ten", "meta:so_ky_hieu", "quyen", "nam", "so"]
PATH_VALUES = st.one_of(st.sampled_from(["1", "0", "99999999999999999999", str(2 ** 63), "-5", "abc", "%2e%2e"]),
                        st.integers(min_value=-(2 ** 66), max_value=2 ** 66).map(str))


def test_staff_pages_answer_every_input_below_500(office, capsys):
    w = seed_world(office)
    clients = {None: office.client()}
    for role in ("clerk", "officer", "manager", "admin"):
        clients[role] = office.signed_in(role, "XA")
    tokens = {k: csrf_of(c, "/login") for k, c in clients.items()}
    table = [(m, p) for m, p in route_table(office.app)
             if not p.startswith("/api/") and p != "/logout" and not p.startswith("/events/")]
    statuses: Counter = Counter()
    failures = []

    for method, path in table:
        roles = sorted(DESIGN.get((method, path), (set(), False))[0]) or [None]
        if (method, path) in PUBLIC:
            roles = [None]
        for role in roles:
            c, token = clients[role], tokens[role]

            @settings(max_examples=12, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(params=st.dictionaries(st.sampled_from(FIELDS), value, max_size=6),
                   ids=st.lists(PATH_VALUES, min_size=3, max_size=3), real=st.booleans())
            def probe(params, ids, real):
                it = iter(ids)
                known = {"code": w["XA"]["code"], "doc_id": w["XA"]["doc"], "document_id": w["XA"]["doc"]}
                url = re.sub(r"\{(\w+)\}", lambda m: str(known[m.group(1)]) if real and m.group(1) in known
                             else next(it, "1"), path)
                if method == "GET":
                    r = c.get(url, params=params)
                else:
                    r = c.post(url, data={**params, "csrf_token": token})
                statuses[r.status_code // 100 * 100] += 1
                if r.status_code >= 500:
                    failures.append((role, method, url[:120], {k: v[:40] for k, v in params.items()}, r.status_code))

            probe()
    total = sum(statuses.values())
    with capsys.disabled():  # shown in CI's quiet output too
        print(f"\nstaff pages fuzz: {total} requests over {len(table)} routes; "
              f"by status class {dict(sorted(statuses.items()))}")
    assert not failures, failures[:10]
    assert total >= 10 * len(table)


def test_the_inputs_that_answered_500(office):
    """Each input of the issue's list, exactly."""
    seed_world(office)
    big = "99999999999999999999"
    clerk, manager, officer = (office.signed_in(r, "XA") for r in ("clerk", "manager", "officer"))
    anon = office.client()
    cases = [(clerk, f"/dossiers?page={big}"), (manager, f"/late?page={big}"),
             (clerk, "/dossiers?date_from=01/01/0001"), (clerk, "/dossiers?date_to=31/12/9999"),
             (manager, "/dashboard?date_from=01/01/0001"), (manager, "/dashboard?date_to=31/12/9999"),
             (manager, "/dashboard?date_from=31/12/9999"), (clerk, f"/documents/{big}"),
             (clerk, f"/documents/{2 ** 63}/pdf"), (clerk, f"/backlog?run={big}"), (clerk, f"/quarantine/{big}/preview"),
             (anon, f"/verify?quyen=1&nam={big}&so=1"), (officer, f"/certified/{big}.pdf")]
    for c, url in cases:
        r = c.get(url)
        assert r.status_code < 500, (url, r.status_code)
    token = csrf_of(officer, "/login")
    r = officer.post("/certify/3/refuse", data={"reason": "damaged", "officer_id": "424242", "csrf_token": token})
    assert r.status_code < 500
