"""The whole extended language against a plain Python evaluation, through a real store: random
interceptions (ended or in flight, with token usages, prompts, tool calls and thoughts) and random
queries mixing negation, lists, globs, ranges, text and flags. The interceptions page (ended ones)
and the usage report (in flight too) select exactly the interceptions the evaluation keeps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aibridge_store import QueryError, Store
from tests.helpers.rows import USER_A, USER_B, interception, prompt, token, tool, uid, users_rows

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WORDS = ["Flaky test", "rm -rf build", "50% off_", "why"]

fact = st.fixed_dictionaries({
    "user": st.sampled_from([USER_A, USER_B]),
    "model": st.sampled_from(["claude-sonnet-4", "gpt-5", "gpt_5"]),
    "client": st.sampled_from([None, "Cursor", "Claude Code"]),
    "seconds": st.one_of(st.none(), st.integers(0, 400)),
    "byok": st.booleans(),
    "tokens": st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300), st.integers(0, 50)), max_size=2),
    "prompts": st.lists(st.sampled_from(WORDS), max_size=2),
    "tools": st.lists(st.tuples(st.sampled_from(["Bash", "Read"]), st.sampled_from([None, "https://GitHub.mcp/x"]),
                                st.sampled_from(WORDS), st.booleans()), max_size=2),
    "thoughts": st.lists(st.sampled_from(WORDS), max_size=1),
})

term = st.one_of(
    st.tuples(st.sampled_from(["input_tokens", "output_tokens", "cache_read_tokens"]),
              st.sampled_from([">100", ">=0", "<50", "<=300", "10..200", "..100", "150..", "0"])),
    st.tuples(st.just("duration"), st.sampled_from([">30s", "<2m", "1m..5m", "..90", "0.5m..", "100s"])),
    st.tuples(st.sampled_from(["prompt", "tool_input", "thought"]),
              st.sampled_from(["flaky", "RM -RF", "50%", "off_", "why,flaky", "%", "_"])),
    st.tuples(st.just("mcp"), st.sampled_from(["github", "GITHUB.MCP", "gitlab"])),
    st.tuples(st.just("tool"), st.sampled_from(["Bash", "Read,Bash", "B*", "*a*"])),
    st.tuples(st.just("has"), st.sampled_from(["prompt", "tool", "tool_error", "thinking", "prompt,thinking"])),
    st.tuples(st.just("is"), st.sampled_from(["in_flight", "byok"])),
    st.tuples(st.sampled_from(["model", "client"]), st.sampled_from(["gpt-*", "gpt_5", "Cursor,Unknown", "*e*"])),
).flatmap(lambda kv: st.tuples(st.booleans(), st.just(kv[0]), st.just(kv[1])))


def _glob(pattern: str, value: str) -> bool:
    return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), value, re.S) is not None


def _in_range(spec: str, value: int | None, unit: int) -> bool:
    if value is None:
        return False

    def number(text: str) -> int:
        scale = {"m": 60, "s": 1}.get(text[-1], None)
        if scale is None:
            return int(float(text) * unit)
        return int(float(text[:-1]) * scale * unit)

    for operator, test in ((">=", lambda a, b: a >= b), ("<=", lambda a, b: a <= b), (">", lambda a, b: a > b),
                           ("<", lambda a, b: a < b)):
        if spec.startswith(operator):
            return bool(test(value, number(spec[len(operator):])))
    if ".." in spec:
        low, _, high = spec.partition("..")
        return (not low or value >= number(low)) and (not high or value <= number(high))
    return value == number(spec)


def _selects(key: str, spec: str, f: dict[str, Any]) -> bool:
    """What one (positive) term selects, read in plain Python."""
    def any_of(test: Any) -> bool:
        return any(test(part) for part in spec.split(","))

    def contains(texts: list[str]) -> bool:
        return any_of(lambda part: any(part.lower() in t.lower() for t in texts))

    if key in ("input_tokens", "output_tokens", "cache_read_tokens"):
        column = {"input_tokens": 0, "output_tokens": 1, "cache_read_tokens": 2}[key]
        return _in_range(spec, sum(t[column] for t in f["tokens"]), 1)
    if key == "duration":
        return _in_range(spec, None if f["seconds"] is None else f["seconds"] * 1_000_000, 1_000_000)
    if key == "prompt":
        return contains(f["prompts"])
    if key == "tool_input":
        return contains([t[2] for t in f["tools"]])
    if key == "thought":
        return contains(f["thoughts"])
    if key == "mcp":
        return contains([t[1] for t in f["tools"] if t[1]])
    if key == "tool":
        return any_of(lambda part: any(_glob(part, t[0]) for t in f["tools"]))
    if key == "has":
        held = {"prompt": bool(f["prompts"]), "tool": bool(f["tools"]), "thinking": bool(f["thoughts"]),
                "tool_error": any(t[3] for t in f["tools"])}
        return any_of(lambda part: held[part])
    if key == "is":
        return f["seconds"] is None if spec == "in_flight" else f["byok"]
    value = f["model"] if key == "model" else (f["client"] or "Unknown")
    return any_of(lambda part: _glob(part, value))


def _load(store: Store, facts: list[dict[str, Any]]) -> None:
    interceptions, tokens, prompts, tools, thoughts = [], [], [], [], []
    for n, f in enumerate(facts, start=1):
        started = START + timedelta(minutes=n)
        ended = None if f["seconds"] is None else (started + timedelta(seconds=f["seconds"])).isoformat()
        interceptions.append(interception(n, initiator_id=str(f["user"]), model=f["model"], client=f["client"],
                                          started_at=started.isoformat(), ended_at=ended,
                                          credential_kind="byok" if f["byok"] else "centralized"))
        tokens += [token(n * 10 + k, n, input_tokens=i, output_tokens=o, cache_read_input_tokens=r,
                         created_at=started.isoformat()) for k, (i, o, r) in enumerate(f["tokens"])]
        prompts += [prompt(n * 10 + k, n, text, created_at=started.isoformat()) for k, text in enumerate(f["prompts"])]
        tools += [tool(n * 10 + k, n, tool=name, server_url=server, input=text, invocation_error="boom" if failed else None,
                       created_at=started.isoformat()) for k, (name, server, text, failed) in enumerate(f["tools"])]
        thoughts += [{"interception_id": str(uid(n)), "content": text, "metadata": "{}",
                      "created_at": started.isoformat()} for text in f["thoughts"]]
    for table, rows in (("users", users_rows()), ("aibridge_interceptions", interceptions),
                        ("aibridge_token_usages", tokens), ("aibridge_user_prompts", prompts),
                        ("aibridge_tool_usages", tools), ("aibridge_model_thoughts", thoughts)):
        if rows:
            store.import_arrow(table, pa.Table.from_pylist(rows))


def _fact(**given: Any) -> dict[str, Any]:
    base = {"user": USER_A, "model": "gpt-5", "client": None, "seconds": 5, "byok": False, "tokens": [],
            "prompts": [], "tools": [], "thoughts": []}
    return {**base, **given}


_TRICKY = [  # what a random draw may miss: case, LIKE's own characters, unknown durations
    _fact(prompts=["rm -rf build"], tools=[("Bash", "https://GitHub.mcp/x", "50% off_", True)]),
    _fact(prompts=["50 percent"], seconds=None, tools=[("Read", None, "5o% offx", False)]),
    _fact(model="gpt_5", thoughts=["why"], tokens=[(150, 0, 0)]),
]


@settings(max_examples=60, deadline=None)
@example(facts=_TRICKY, terms=[(False, "prompt", "RM -RF"), (False, "mcp", "GITHUB.MCP")])
@example(facts=_TRICKY, terms=[(False, "tool_input", "50%"), (True, "tool_input", "off_")])
@example(facts=_TRICKY, terms=[(True, "duration", ">30s"), (False, "model", "gpt_5")])
@example(facts=_TRICKY, terms=[(True, "duration", "..90"), (True, "has", "tool_error")])
@example(facts=_TRICKY, terms=[(False, "input_tokens", "150.."), (False, "thought", "WHY")])
@given(facts=st.lists(fact, min_size=1, max_size=10), terms=st.lists(term, min_size=1, max_size=3))
def test_reads_select_what_a_python_evaluation_selects(facts: list[dict[str, Any]], terms: list[Any]) -> None:
    query = " ".join(f'{"-" if negated else ""}{key}:"{spec}"' for negated, key, spec in terms)
    kept = [n for n, f in enumerate(facts, start=1)
            if all(_selects(key, spec, f) != negated for negated, key, spec in terms)]
    with Store.open() as store:
        _load(store, facts)
        try:
            page = store.list_interceptions(query, limit=1000)
        except QueryError:
            assert any(not negated and sum(k == key for _, k, _ in terms) > 1 and key in ("model", "client")
                       for negated, key, _ in terms), query  # only Coder's "given more than once"
            return
        ended = [n for n in kept if facts[n - 1]["seconds"] is not None]
        assert sorted(str(i.id) for i in page.results) == sorted(str(uid(n)) for n in ended), query
        (total,) = store.usage(query).to_pylist()
        assert total["interceptions"] == len(kept), query
