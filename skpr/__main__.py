"""Command line: ``python -m skpr demo [--output FILE] [--seed N]``."""

import argparse
import sys

from skpr._demo import run_demo


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skpr",
        description="Prediction rigidities for scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="fit BlockRidge on the bundled NICE methane set and report its "
        "prediction rigidities and calibration",
    )
    demo.add_argument(
        "--output",
        default="skpr-demo-calibration.png",
        help="file for the calibration figure (default: %(default)s)",
    )
    demo.add_argument("--seed", type=int, default=0, help="train/test split seed")
    args = parser.parse_args(argv)
    if args.command == "demo":
        run_demo(args.output, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
