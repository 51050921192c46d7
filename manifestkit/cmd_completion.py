"""`manifestkit completion bash|zsh|fish`: a shell completion script derived from the command-line parser itself."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping
from typing import NamedTuple

from manifestkit.command import Command


class Flag(NamedTuple):
    names: tuple[str, ...]
    choices: tuple[str, ...]
    takes_value: bool
    help: str


class Sub(NamedTuple):
    name: str
    help: str
    flags: tuple[Flag, ...]
    choices: tuple[str, ...] = ()   # of its positional argument, e.g. completion's shells


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=sorted(SHELLS), help="the shell to complete in")
    parser.epilog = ("bash: eval \"$(manifestkit completion bash)\" in ~/.bashrc; zsh: the same with zsh in ~/.zshrc; "
                     "fish: manifestkit completion fish > ~/.config/fish/completions/manifestkit.fish")


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    sys.stdout.write(SHELLS[args.shell](commands(args.root_parser)))
    return 0


def _flags(parser: argparse.ArgumentParser) -> tuple[Flag, ...]:
    return tuple(Flag(tuple(a.option_strings), tuple(str(c) for c in a.choices or ()), a.nargs != 0, a.help or "")
                 for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS)


def commands(parser: argparse.ArgumentParser) -> list[Sub]:
    """The top level (name ''), then each subcommand with its own flags."""
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help or "" for c in subs._choices_actions}
    return [Sub("", "", _flags(parser))] + [Sub(name, helps.get(name, ""), _flags(sub), _positional_choices(sub))
                                            for name, sub in subs.choices.items()]


def _positional_choices(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    return tuple(str(c) for a in parser._actions if not a.option_strings and a.choices for c in a.choices)


def bash(subs: list[Sub]) -> str:
    """A `complete -F` function: the subcommand, then its flags, a flag's choices, else file names."""
    names = " ".join(s.name for s in subs[1:])
    cases = []
    for sub in subs:
        words = " ".join(n for f in sub.flags for n in f.names)
        choices = "".join(
            f'      {"|".join(f.names)}) COMPREPLY=($(compgen -W {shlex.quote(" ".join(f.choices))} -- "$cur")); '
            f'return;;\n'
            for f in sub.flags
            if f.choices
        )
        label = sub.name or '""'
        files = f"COMPREPLY=($(compgen -W {shlex.quote(' '.join(sub.choices))} -- \"$cur\"))" if sub.choices else ""
        cases.append(f"    {label})\n      case \"$prev\" in\n{choices}      esac\n"
                     f"      words_={shlex.quote(words)}; args_={shlex.quote(files)};;\n")
    return (
        '# manifestkit bash completion: eval "$(manifestkit completion bash)"\n'
        "_manifestkit() {\n"
        '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" cmd="" words_ args_ i\n'
        "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
        '    case "${COMP_WORDS[i]}" in -*) ;; *) cmd="${COMP_WORDS[i]}"; break;; esac\n'
        "  done\n"
        '  case "$cmd" in\n' + "".join(cases) + "  esac\n"
        f'  if [[ -z "$cmd" && "$cur" != -* ]]; then COMPREPLY=($(compgen -W {shlex.quote(names)} -- "$cur")); return; '
        f'fi\n'
        '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$words_" -- "$cur")); return; fi\n'
        '  if [[ -n "$args_" ]]; then eval "$args_"; return; fi\n'
        '  COMPREPLY=($(compgen -f -- "$cur"))\n'
        "}\n"
        "complete -o filenames -F _manifestkit manifestkit\n"
    )


def zsh(subs: list[Sub]) -> str:
    """zsh runs the bash function through bashcompinit, so both shells complete the same words."""
    return ("# manifestkit zsh completion: eval \"$(manifestkit completion zsh)\"\n"
            "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n"
            + bash(subs).split("\n", 1)[1])


def fish(subs: list[Sub]) -> str:
    lines = ["# manifestkit fish completion: manifestkit completion fish > ~/.config/fish/completions/manifestkit.fish",
             "complete -c manifestkit -f"]
    for sub in subs[1:]:
        lines.append(f"complete -c manifestkit -n __fish_use_subcommand -a {sub.name} -d {shlex.quote(sub.help)}")
    for sub in subs:
        when = "__fish_use_subcommand" if not sub.name else f"'__fish_seen_subcommand_from {sub.name}'"
        for flag in sub.flags:
            spec = " ".join(f"-l {n[2:]}" if n.startswith("--") else f"-s {n[1:]}" for n in flag.names)
            value = (
                f" -x -a {shlex.quote(' '.join(flag.choices))}"
                if flag.choices
                else (" -r -F" if flag.takes_value else "")
            )
            lines.append(f"complete -c manifestkit -n {when} {spec}{value} -d {shlex.quote(flag.help[:80])}")
        if sub.name:
            then = f"-a {shlex.quote(' '.join(sub.choices))}" if sub.choices else "-F"
            lines.append(f"complete -c manifestkit -n '__fish_seen_subcommand_from {sub.name}' {then}")
    return "\n".join(lines) + "\n"


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}

COMMAND = Command("print a shell completion script (bash, zsh or fish)", configure, run)
