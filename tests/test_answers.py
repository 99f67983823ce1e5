"""Reading model answers: every format real models produce, then the allow-list."""

from __future__ import annotations

import pytest

from cortex.dependency_resolver import PackageIndex, generate_index_text, parse_packages
from cortex.install_plan import CommandRejectedError, validate_command
from cortex.llm.answers import PREFERRED_FORMAT, parse_answer
from cortex.parallel_llm import DEFAULT_SYSTEM_PROMPT

TWO = ("sudo apt update", "sudo apt install -y nginx")
FENCE = "`" * 3


@pytest.fixture(scope="module")
def index() -> PackageIndex:
    return parse_packages(generate_index_text(300))


def _accepted(lines: tuple[str, ...], index: PackageIndex) -> list[list[str]]:
    return [validate_command(line, index.knows) for line in lines]


def test_plain_lines() -> None:
    parsed = parse_answer("sudo apt update\nsudo apt install -y nginx\n")
    assert (parsed.lines, parsed.notes, parsed.format) == (TWO, (), "plain")


@pytest.mark.parametrize("tag", ["bash", "sh", "shell", "console", "", "zsh"])
def test_fenced_block_with_any_tag_and_prose_around_it(tag: str) -> None:
    answer = (
        "Sure! Here are the commands to install nginx:\n\n"
        f"{FENCE}{tag}\nsudo apt update\nsudo apt install -y nginx\n{FENCE}\n\n"
        "This installs the web server."
    )
    parsed = parse_answer(answer)
    assert parsed.lines == TWO
    assert parsed.notes == (
        "Sure! Here are the commands to install nginx:",
        "This installs the web server.",
    )
    assert parsed.format == "fenced"


def test_tilde_fence_and_an_unclosed_fence() -> None:
    assert parse_answer("~~~\nsudo apt update\n~~~").lines == ("sudo apt update",)
    assert parse_answer(f"{FENCE}bash\nsudo apt update\nsudo apt install -y nginx").lines == TWO


@pytest.mark.parametrize(
    "answer",
    [
        "1. sudo apt update\n2. sudo apt install -y nginx",
        "1) sudo apt update\n2) sudo apt install -y nginx",
        "- sudo apt update\n- sudo apt install -y nginx",
        "* `sudo apt update`\n* `sudo apt install -y nginx`",
        "• sudo apt update\n• sudo apt install -y nginx",
    ],
)
def test_numbered_and_bulleted_lists(answer: str) -> None:
    assert parse_answer(answer).lines == TWO


def test_dollar_prompts() -> None:
    assert parse_answer("$ sudo apt update\n$ sudo apt install -y nginx").lines == TWO
    fenced = parse_answer(
        f"{FENCE}console\n$ sudo apt update\n$ sudo apt install -y nginx\n{FENCE}"
    )
    assert fenced.lines == TWO


def test_upstream_json_bare_and_fenced() -> None:
    body = '{"commands": ["sudo apt update", "sudo apt install -y nginx"]}'
    for answer in (
        body,
        f"{FENCE}json\n{body}\n{FENCE}",
        f"Here you go:\n{FENCE}\n{body}\n{FENCE}",
    ):
        parsed = parse_answer(answer)
        assert (parsed.lines, parsed.format) == (TWO, "json")
    assert parse_answer('["sudo apt update", "sudo apt install -y nginx"]').lines == TWO


def test_json_that_is_not_a_command_list_is_read_as_lines() -> None:
    # Not upstream's shape: no commands are invented, the text is read line by line.
    parsed = parse_answer('{"cmds": 1}')
    assert parsed.format == "plain"
    bomb = "[" * 50_000 + "]" * 50_000  # deep nesting: no RecursionError
    assert parse_answer(bomb).format == "plain"


def test_prose_and_comments_are_notes_never_commands() -> None:
    answer = (
        "First, update the package index:\n"
        "# refresh lists\n"
        "sudo apt update\n"
        "Then install nginx:\n"
        "sudo apt install -y nginx\n"
        "Note: this starts the service."
    )
    parsed = parse_answer(answer)
    assert parsed.lines == TWO
    assert parsed.notes == (
        "First, update the package index:",
        "refresh lists",
        "Then install nginx:",
        "Note: this starts the service.",
    )


def test_a_command_looking_line_is_never_hidden_as_a_note(index: PackageIndex) -> None:
    # Dangerous lines stay candidates, so the validator shows them as rejected.
    parsed = parse_answer("Run this:\nrm -rf /\ncurl x | sh\napt-get install -y nginx && reboot")
    assert parsed.lines == ("rm -rf /", "curl x | sh", "apt-get install -y nginx && reboot")
    for line in parsed.lines:
        with pytest.raises(CommandRejectedError):
            validate_command(line, index.knows)


@pytest.mark.parametrize(
    "answer",
    [
        "sudo apt update\nsudo apt install -y nginx",
        f"Here:\n{FENCE}bash\nsudo apt update\nsudo apt install -y nginx\n{FENCE}",
        '{"commands": ["sudo apt update", "sudo apt install -y nginx"]}',
        "1. `sudo apt update`\n2. `sudo apt install -y nginx`",
    ],
)
def test_every_format_passes_the_allow_list_with_nothing_rejected(
    answer: str, index: PackageIndex
) -> None:
    assert _accepted(parse_answer(answer).lines, index) == [
        ["apt", "update"],
        ["apt", "install", "-y", "nginx"],
    ]


def test_the_system_prompt_asks_for_the_preferred_format() -> None:
    assert PREFERRED_FORMAT in DEFAULT_SYSTEM_PROMPT
    assert "one command per line" in PREFERRED_FORMAT
