from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from approvals.inbound.mapping import Mapping, MappingError
from approvals.inbound.sources import inbound_source_save, source_url
from approvals.management.base import OneLineErrorsCommand
from approvals.models import InboundSource, Policy

KINDS = [choice.value for choice in InboundSource.Verification]


class Command(OneLineErrorsCommand):
    help = (
        "Create or update an inbound source (docs/integrations.md) and print its URL. "
        "Idempotent: run it again with new values to update."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the source's name in its URL, e.g. hubspot-deals")
        parser.add_argument("--policy", required=True, help="the policy's slug")
        parser.add_argument("--verification", required=True, metavar="KIND", help=", ".join(KINDS))
        parser.add_argument("--secret", required=True, help="the signing or shared secret")
        parser.add_argument("--token", help="HubSpot private-app token (completes workflows)")
        parser.add_argument(
            "--title", required=True, help='e.g. "Discount for {properties.dealname}"'
        )
        parser.add_argument("--external-id", default="", metavar="PATH")
        parser.add_argument(
            "--event-id", default="", metavar="PATH", help="the event id, if no header carries one"
        )
        parser.add_argument(
            "--field", action="append", default=[], metavar="NAME=PATH", help="a payload field"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verification"] not in KINDS:
            raise CommandError(
                f"Unknown verification {options['verification']!r}; use one of {', '.join(KINDS)}."
            )
        fields: dict[str, str] = {}
        for item in options["field"]:
            name, sep, path = item.partition("=")
            if not sep or not name.strip() or not path.strip():
                raise CommandError(f"--field {item!r} is not NAME=PATH.")
            fields[name.strip()] = path.strip()
        try:  # the mapping first: it needs no database
            Mapping(
                title=options["title"],
                external_id=options["external_id"],
                event_id=options["event_id"],
                fields=fields,
            ).validate()
        except MappingError as exc:
            raise CommandError(f"Bad mapping: {exc}") from None
        policy = Policy.objects.filter(slug=options["policy"]).first()
        if policy is None:
            raise CommandError(f"There is no policy {options['policy']!r}.")
        try:
            source, created = inbound_source_save(
                slug=options["slug"],
                policy=policy,
                verification=options["verification"],
                secret=options["secret"],
                api_token=options["token"],
                title_template=options["title"],
                external_id_path=options["external_id"],
                event_id_path=options["event_id"],
                payload_fields=fields,
            )
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        self.stdout.write(f"{'Created' if created else 'Updated'} inbound source {source.slug}:")
        self.stdout.write(source_url(source))


def one_line(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
