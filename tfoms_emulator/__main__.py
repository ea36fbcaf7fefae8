"""Command line: `python -m tfoms_emulator [serve|push|push-changes|declare|answer-ident|watch-ident] …`."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import pika

from . import changes, ident, prof, rpc
from .core import (
    DEFAULT_ISZL_REPLY,
    DEFAULT_ISZL_REQUEST,
    DEFAULT_ISZL_RPC,
    DEFAULT_PREFIX,
    Emulator,
    Faults,
    Queues,
)
from .server import Server, amqp_url, connection_parameters, declare_queues, publish

COMMANDS = ("serve", "push", "push-changes", "declare", "answer-ident", "watch-ident", "answer-prof")


def _count(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a non-negative whole number: {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--amqp", help="broker URL (default: $TFOMS_AMQP_URL, else the local guest broker)")
    common.add_argument(
        "--queue-prefix",
        default=DEFAULT_PREFIX,
        help=f"queue names are PREFIX + from_mis, from_mis.answer, to_mis, to_mis.answer"
        f" (default {DEFAULT_PREFIX!r}); the ISZL queues are not prefixed",
    )
    common.add_argument(
        "--iszl-request",
        default=DEFAULT_ISZL_REQUEST,
        help=f"queue of the МО's order-263 packages to the ISZL (default {DEFAULT_ISZL_REQUEST!r})",
    )
    common.add_argument(
        "--iszl-reply",
        default=DEFAULT_ISZL_REPLY,
        help=f"queue of the ISZL's replies (default {DEFAULT_ISZL_REPLY!r})",
    )
    common.add_argument(
        "--iszl-rpc",
        default=DEFAULT_ISZL_RPC,
        help=f"queue of the free-beds RPC requests (default {DEFAULT_ISZL_RPC!r})",
    )

    parser = argparse.ArgumentParser(prog="python -m tfoms_emulator", description="ТФОМС emulator")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="answer the МО's packages (default)")
    serve.add_argument("--reject-ratio", type=float, default=0.0, help="share answered ERROR 999")
    serve.add_argument("--drop-ratio", type=float, default=0.0, help="share applied but not answered")
    serve.add_argument("--duplicate-ratio", type=float, default=0.0, help="share answered twice")
    serve.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    serve.add_argument("--seed", type=int, default=0, help="seed of the fault sequence")
    serve.add_argument(
        "--fault-mo", action="append", default=[], help="faults for this МО's packages only (repeatable)"
    )
    serve.add_argument(
        "--rpc-fault",
        choices=[m for m in rpc.MODES if m],
        default="",
        help="RPC requests (free beds, PERS): never answered, answered late, with ERROR, or malformed",
    )
    serve.add_argument("--rpc-late", type=float, default=15.0, help="seconds a late RPC answer waits")
    serve.add_argument(
        "--register",
        type=Path,
        default=None,
        help="register JSON PERS is answered from (reloaded when changed)",
    )
    serve.add_argument("--prefetch", type=int, default=10, help="unacked messages at a time")
    serve.add_argument("--root", type=Path, default=None, help="where the XSD paths start (repository root)")

    push = commands.add_parser("push", parents=[common], help="publish a file as the fund's package")
    push.add_argument("type", help="package type, e.g. POLIS")
    push.add_argument("file", type=Path)

    push_changes = commands.add_parser(
        "push-changes", parents=[common], help="publish a stream of the fund's packages about the register"
    )
    push_changes.add_argument("--count", type=_count, required=True, help="how many packages")
    push_changes.add_argument("--register", type=Path, required=True, help="register JSON of insured persons")
    push_changes.add_argument("--seed", type=int, default=0, help="seed of the stream (default 0)")
    push_changes.add_argument(
        "--mo",
        dest="mo_codes",
        metavar="CODE",
        action="extend",
        nargs="+",
        default=[],
        help="6-digit МО codes a new policy may name in ATTACH (default: no ATTACH)",
    )

    commands.add_parser("declare", parents=[common], help="declare the queues and exit")

    answer = commands.add_parser("answer-ident", help="answer one identification request DBF")
    answer.add_argument("request", type=Path, help="the request DBF")
    answer.add_argument("-o", "--out", type=Path, required=True, help="folder for the response (same name)")
    answer.add_argument("--register", type=Path, help="register JSON (default: empty, everyone not found)")
    answer.add_argument("--doc-fields", choices=sorted(ident.DOC_FIELD_NAMES), default="doctp")

    answer_prof = commands.add_parser("answer-prof", help="answer a PROF file of order 88 with OSHIB_PR")
    answer_prof.add_argument("file", type=Path, help="the PROF file (ZIP or XML)")
    answer_prof.add_argument("-o", "--out", type=Path, required=True, help="folder for the ERR_… reply ZIP")

    watch = commands.add_parser("watch-ident", help="answer request DBFs appearing in a folder")
    watch.add_argument(
        "--in", dest="in_dir", type=Path, required=True, help="the portal's exchange out-folder"
    )
    watch.add_argument(
        "--out", dest="out_dir", type=Path, required=True, help="the portal's exchange in-folder"
    )
    watch.add_argument("--register", type=Path, required=True, help="register JSON, reloaded when changed")
    watch.add_argument("--interval", type=float, default=1.0, help="seconds between scans (default 1)")
    watch.add_argument("--doc-fields", choices=sorted(ident.DOC_FIELD_NAMES), default="doctp")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = list(argv)
    if not args or (args[0] not in COMMANDS and args[0] not in ("-h", "--help")):
        args.insert(0, "serve")
    return build_parser().parse_args(args)


def _serve(args: argparse.Namespace, queues: Queues) -> int:
    try:
        faults = Faults(
            args.reject_ratio,
            args.drop_ratio,
            args.duplicate_ratio,
            args.delay,
            args.seed,
            mo_codes=frozenset(args.fault_mo),
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator = Emulator(root=args.root, queues=queues, faults=faults)
    emulator.rpc_faults = rpc.RpcFaults(args.rpc_fault, args.rpc_late)
    if args.register is not None:
        emulator.persons = ident.RegisterFile(args.register)
    server = Server(emulator, amqp_url(args.amqp), prefetch=args.prefetch)

    def stop(signum: int, frame: FrameType | None) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.run()
    return 0


def _answer_ident(args: argparse.Namespace) -> int:
    try:
        register = ident.load_register(args.register) if args.register else ident.Register()
        args.out.mkdir(parents=True, exist_ok=True)
        content, counts = ident.build_response(
            args.request.read_bytes(), register, doc_field_names=args.doc_fields
        )
    except (ident.RegisterError, ident.RequestError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    target = args.out / args.request.name
    ident.write_atomically(target, content)
    print(f"{args.request.name} → {target}: {counts.describe()}", flush=True)
    return 0


def _watch_ident(args: argparse.Namespace) -> int:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"ready: {args.in_dir} → {args.out_dir}", flush=True)
    ident.watch(
        args.in_dir,
        args.out_dir,
        args.register,
        interval=args.interval,
        should_stop=lambda: stopping,
        doc_field_names=args.doc_fields,
    )
    print("stopped", flush=True)
    return 0


def _answer_prof(args: argparse.Namespace) -> int:
    try:
        name, content, errors = prof.answer_prof(args.file.name, args.file.read_bytes())
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / name).write_bytes(content)
    except (prof.ProfError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file.name} → {args.out / name}: ошибок {errors}", flush=True)
    return 0


def _push_changes(args: argparse.Namespace, queues: Queues) -> int:
    """Publish a stream of changes_stream() with publisher confirms; one summary line."""
    try:
        register = changes.read_register(args.register)
        stream = changes.changes_stream(register, args.count, seed=args.seed, mo_codes=args.mo_codes)
    except ident.RegisterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    emulator = Emulator(queues=queues)
    messages = [emulator.push(change.package_type, change.body) for change in stream]
    connection = pika.BlockingConnection(connection_parameters(amqp_url(args.amqp)))
    try:
        channel = declare_queues(connection, queues)
        channel.confirm_delivery()
        for message in messages:
            publish(channel, message)
    finally:
        connection.close()
    print(f"{len(messages)} → {queues.to_mis}: {changes.summary(stream)}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "answer-ident":
        return _answer_ident(args)
    if args.command == "watch-ident":
        return _watch_ident(args)
    if args.command == "answer-prof":
        return _answer_prof(args)
    queues = Queues.with_prefix(
        args.queue_prefix, iszl_request=args.iszl_request, iszl_reply=args.iszl_reply, iszl_rpc=args.iszl_rpc
    )
    if args.command == "serve":
        return _serve(args, queues)
    if args.command == "push-changes":
        return _push_changes(args, queues)

    connection = pika.BlockingConnection(connection_parameters(amqp_url(args.amqp)))
    try:
        channel = declare_queues(connection, queues)
        if args.command == "declare":
            print("declared: " + ", ".join(queues.declared()), flush=True)
            return 0
        channel.confirm_delivery()
        message = Emulator(queues=queues).push(args.type, args.file.read_bytes())
        publish(channel, message)
        print(f"{args.type} {message['properties']['message_id']} → {message['queue']}", flush=True)
        return 0
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
