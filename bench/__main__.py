"""python -m bench generate | run  (see bench/README.md)."""

import argparse
import sys

DEFAULT_SQLITE = "sqlite:///bench.db"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    gen = commands.add_parser("generate", help="Fill a database with seeded data through the bulk path.")
    gen.add_argument("--database-url", required=True, help="sqlite:///PATH or postgresql://USER@HOST/DB")
    gen.add_argument("--scale", type=float, default=1.0, help="Multiplies every count (1.0: 1,000,000 events).")
    gen.add_argument("--seed", type=int, default=1, help="Same seed, same records (ids included).")
    gen.add_argument(
        "--method",
        choices=["auto", "copy", "executemany", "insert"],
        default="auto",
        help="How rows are sent. auto: copy on PostgreSQL, executemany on SQLite; copy: PostgreSQL's COPY; "
        "executemany: the driver's executemany with values converted by the columns' types; insert: Core "
        "insert() executemany (SQLAlchemy's per-row parameter handling, slower).",
    )
    gen.add_argument(
        "--keep-indexes",
        action="store_true",
        help="Write into the fully indexed, foreign-key-checked tables instead of building secondary indexes "
        "and checking foreign keys after the load (slower, for comparison).",
    )
    gen.add_argument("--report", help="Also write the counts and the import rate to this JSON file (for `bench run`).")
    gen.add_argument(
        "--reset", action="store_true", help="Empty the database first (deletes the SQLite file / the public schema)."
    )

    run = commands.add_parser("run", help="Benchmark the service against the baseline with wrk.")
    from bench.runner import add_arguments

    add_arguments(run)

    args = parser.parse_args(argv)
    if args.command == "generate":
        from bench.generate import main as generate

        return generate(
            args.database_url, args.scale, args.seed, args.reset, args.method, not args.keep_indexes, args.report
        )
    from bench.runner import main as run_main

    return run_main(args)


if __name__ == "__main__":
    sys.exit(main())
