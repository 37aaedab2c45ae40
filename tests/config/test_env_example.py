"""
.env.example lists every environment variable the settings and gunicorn read, and nothing else: an
operator reading it knows every knob, and a new setting cannot be added without documenting it.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = ("config/settings.py", "gunicorn.conf.py")
ENV_METHODS = {"str", "bool", "int", "float", "list", "json", "dict", "url", "db", "db_url", "email_url", "cache", "path"}


def _name(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def variables_read(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            # env.str("NAME", ...), env("NAME")
            if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name) and function.value.id == "env":
                if function.attr in ENV_METHODS:
                    found.add(_name(node.args[0]))
            elif isinstance(function, ast.Name) and function.id == "env":
                found.add(_name(node.args[0]))
            # os.environ.get("NAME"), os.getenv("NAME")
            elif isinstance(function, ast.Attribute) and function.attr in ("get", "getenv"):
                owner = ast.unparse(function.value)
                if owner in ("os.environ", "os"):
                    found.add(_name(node.args[0]))
        # "NAME" in env, os.environ["NAME"]
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In) for op in node.ops):
            if ast.unparse(node.comparators[0]) in ("env", "os.environ"):
                found.add(_name(node.left))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            found.add(_name(node.slice))
    found.discard(None)
    return found


def listed() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_variable_read_is_listed_and_nothing_else():
    read = set().union(*(variables_read((ROOT / path).read_text()) for path in READERS))
    assert len(read) > 40  # the reader understood the settings file
    assert read - listed() == set(), "read by the settings but missing from .env.example"
    assert listed() - read == set(), "listed in .env.example but read nowhere"


def test_the_reader_finds_every_way_of_reading():
    source = (
        'import os\nA = env.str("ONE")\nB = env("TWO")\nif "THREE" in env: pass\n'
        'C = os.environ.get("FOUR", "x")\nD = os.environ["FIVE"]\nE = env.list(\n    "SIX",\n    default=[],\n)\n'
    )
    assert variables_read(source) == {"ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX"}


def test_required_values_are_placeholders_not_secrets():
    text = (ROOT / ".env.example").read_text()
    assert re.search(r"^SECRET_KEY=change-me$", text, flags=re.MULTILINE)
    assert re.search(r"^DEBUG=0$", text, flags=re.MULTILINE)
