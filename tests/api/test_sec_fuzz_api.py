"""Issue 19 §7: a fuzz of the API from its OpenAPI document (schemathesis, against a live uvicorn on
loopback): positive and negative data for every operation, with a full token and without one;
every response must be < 500 and keep the documented error shape. The request counts are printed."""
from __future__ import annotations

from collections import Counter


def _error_shaped(resp) -> bool:
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and {"error", "detail"} <= set(body)


def test_api_fuzz_finds_no_server_error(env, capsys):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    from registry.auth import add_client

    with env.db.session() as s:
        _, token = add_client(s, f"fuzz-{env.url.rsplit(':', 1)[-1]}", "reuse:read,reuse:write,documents:read,pid:read")
    schema = schemathesis.openapi.from_url(f"{env.url}/api/v1/openapi.json")
    failures, shape = [], []
    statuses: Counter = Counter()
    per_op: Counter = Counter()
    for result in schema.get_all_operations():
        op = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for auth in ({"Authorization": f"Bearer {token}"}, {}):

                @settings(max_examples=25, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                @given(case=op.as_strategy(generation_mode=mode))
                def run(case):
                    resp = case.call(base_url=env.url, headers=auth)
                    per_op[f"{case.method} {case.path}"] += 1
                    statuses[resp.status_code // 100 * 100] += 1
                    if resp.status_code >= 500:
                        failures.append((case.method, case.formatted_path, resp.status_code, resp.text[:200]))
                    elif resp.status_code >= 400 and not _error_shaped(resp):
                        shape.append((case.method, case.formatted_path, resp.status_code, resp.text[:120]))

                run()
    total = sum(statuses.values())
    with capsys.disabled():  # shown in CI's quiet output too
        print(f"\nAPI fuzz ({env.db.engine.dialect.name}): {total} requests over {len(per_op)} operations; "
              f"by status class {dict(sorted(statuses.items()))}")
    assert not failures, failures[:10]
    assert not shape, shape[:10]
    import httpx

    spec = httpx.get(f"{env.url}/api/v1/openapi.json").json()  # every operation the API documents was fuzzed
    documented = {f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops if m in ("get", "post", "put", "delete", "patch")}
    assert set(per_op) == documented and all(n >= 20 for n in per_op.values()), (per_op, documented)
