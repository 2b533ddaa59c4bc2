"""A BaseCommand whose bad-input errors are one line (docs/api.md "Commands").

Django's parser prints the whole usage block before an argument error; operators' scripts and
our tests want one line on stderr and a non-zero exit, like a CommandError.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser


class OneLineErrorsCommand(BaseCommand):
    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        name = f"{parser.prog}"

        def error(message: str) -> NoReturn:
            if not parser.called_from_command_line:
                # call_command(): let Django raise CommandError as usual.
                CommandParser.error(parser, message)
            sys.stderr.write(f"{name}: error: {message}\n")
            sys.exit(2)

        parser.error = error  # type: ignore[method-assign]
        return parser
