"""``purposegate worker``: the Faust worker that applies the policy on Kafka."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import faust
from faust.web import Request, Response, View

from agents import inputs
from agents.runtime import Runtime
from broker.admin import ensure_topics, policy_topic_specs
from broker.app import build_app
from broker.clients import check_connection
from broker.erasure_tracker import ErasureTracker, install_erasure_tracker
from broker.lag import LagCollector
from broker.metrics_page import install_metrics
from broker.policies import keep_policy
from broker.watchdog import WorkerWatchdog, install_watchdog
from cli import args as args_
from config.settings import Settings
from policy import topics
from policy.compile import CompiledPolicy, compile_policy
from policy.erasure import topic_terms
from policy.history import policy_record, read_policy
from policy.keys import ephemeral_keys, load_keys
from policy.topics import INPUT_TOPICS
from wire.codec import Codec
from wire.generate import load_checked
from wire.topic_schemas import wire_schemas

log = logging.getLogger("purposegate.worker")

#: The exit code after a record the worker could not finish — an output the broker refused,
#: or an input whose schema the registry could not give (it was down) — its input not committed.
EXIT_NOT_DELIVERED = 3


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker", help="run the Faust worker (settings from KAFKA_* / PURPOSEGATE_* env)"
    )
    parser.add_argument("--web-port", type=args_.port, help="port of /health and /metrics")
    parser.add_argument(
        "--shadow-policy",
        type=args_.POLICY_FILE,
        metavar="NEW.yaml",
        help="also decide every event under this policy; forward nothing under it, write what "
        "it would decide differently to purposegate.shadow",
    )
    parser.add_argument(
        "--no-create-topics",
        action="store_true",
        help="do not create missing topics at start-up (they must exist)",
    )
    parser.set_defaults(func=run)


def build_worker_app(
    settings: Settings, create_topics: bool = True, shadow_policy: Path | None = None
) -> tuple[faust.App, Runtime]:
    """Load and compile the policy (and the shadow policy), create topics, keep the policy
    versions (before anything is decided under them), wire agents, health and metrics."""
    policy, text = read_policy(settings.policy_file)
    compiled = compile_policy(policy, load_keys(settings), limits=settings.input_limits())
    store = load_checked(policy)
    codec = Codec(store, settings)
    # Confluent: every topic's subject registered (BACKWARD) before anything is sent; a schema
    # the registry refuses stops the worker here with the topic and the registry's reason.
    codec.bind_topics(wire_schemas(policy, store), settings.topic)
    if create_topics:
        ensure_topics(settings, policy_topic_specs(settings, compiled.policy))
    else:  # fail here, in one line, rather than in Faust's retries
        check_connection(settings)
    keep_policy(settings, codec, policy_record(policy, text))
    shadow = _shadow(settings, codec, shadow_policy) if shadow_policy else None
    (settings.data_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    app = build_app(settings)
    rt = Runtime(settings=settings, compiled=compiled, codec=codec, app=app, shadow=shadow)
    agent = inputs.register(app, rt)
    lag = LagCollector(settings, app.conf.id, topics=INPUT_TOPICS)
    install_metrics(app, settings, compiled.policy_version, collector=lag)
    watchdog = install_watchdog(
        app, settings, lag, explain=agent.merger.describe, holding=agent.merger.holds
    )
    _install_health(app, watchdog)
    tracker = ErasureTracker(settings, topic_terms(compiled.policy), codec)
    install_erasure_tracker(app, tracker, settings.erasure_check_s)
    return app, rt


def _shadow(settings: Settings, codec: Codec, path: Path) -> CompiledPolicy:
    """The shadow policy, compiled with keys for this run only (its outputs are compared by
    item, never sent) and kept on purposegate.policies like the policy in force."""
    policy, text = read_policy(path)
    keys = ephemeral_keys(r.id for r in policy.recipients)
    compiled = compile_policy(policy, keys, limits=settings.input_limits())
    keep_policy(settings, codec, policy_record(policy, text))
    log.info("shadow policy %s: differences go to %s", policy.version, topics.SHADOW)
    return compiled


def _install_health(app: faust.App, watchdog: WorkerWatchdog) -> None:
    @app.page("/health")
    async def health(web: View, request: Request) -> Response:
        assigned = len(app.consumer.assignment()) if app.consumer else 0
        recovering = bool(app.in_recovery) or bool(app.rebalancing)
        stalled = [{"topic": t, "partition": p} for t, p in watchdog.stalled_partitions()]
        status = "stalled" if stalled else "ok" if assigned and not recovering else "starting"
        body: dict[str, Any] = {
            "status": status,
            "assigned_partitions": assigned,
            "recovering": recovering,
        }
        if stalled:
            body["stalled_partitions"] = stalled
        code = 200 if status == "ok" else 503
        result: Response = web.json(body, status=code)
        return result


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.web_port:
        settings = settings.model_copy(update={"web_port": args.web_port})
    logging.basicConfig(level=settings.log_level)
    logging.getLogger("kafka").setLevel(logging.WARNING)  # kafka-python's admin client chatter
    app, rt = build_worker_app(settings, not args.no_create_topics, args.shadow_policy)
    log.info(
        "starting worker app_id=%s bootstrap=%s partitions=%d web_port=%d",
        settings.app_id,
        settings.kafka_bootstrap,
        settings.partitions,
        settings.web_port,
    )
    worker = faust.Worker(app, loglevel=settings.log_level)
    # Faust's terminal spinner, at WARNING or above, sets the root logger to DEBUG so that it
    # can spin on every record: aiokafka then builds a debug LogRecord per message sent
    # (a third of the worker's CPU in `make bench`). A daemon needs no spinner.
    worker.spinner = None
    try:
        worker.execute_from_commandline()  # exits on SIGTERM/SIGINT after a clean shutdown
    except SystemExit:
        if rt.failure is None:
            raise
        log.error("stopped: a record could not be finished (%s)", type(rt.failure).__name__)
    return EXIT_NOT_DELIVERED
