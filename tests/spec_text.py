"""Spec-file text shared by the tests that build a folder of specs."""

ADD_SPEC = '''
name = "{name}"
description = "Return the sum of a and b."
entry_point = "add"
signature = "def add(a: int, b: int) -> int"
reference = """
def add(a, b):
    return {body}
"""
[tests]
asserts = ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]
'''


def add_spec(name: str, body: str = "a + b") -> str:
    """A spec for `add`; `body` is the reference's return expression (e.g. "a - b" for a broken one)."""
    return ADD_SPEC.format(name=name, body=body)
