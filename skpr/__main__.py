"""Command line: ``python -m skpr demo [--output FILE] [--seed N]``."""

import argparse
import sys

from skpr._demo import DEFAULT_OUTPUT, IMAGE_SUFFIXES, check_figure_path, run_demo


def _figure_path(value):
    """Type of ``--output``: a file the figure can be written to, checked at once."""
    try:
        check_figure_path(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m skpr",
        description="Prediction rigidities (PR, LPR, CPR) for scikit-learn. The "
        "library is used from Python (import skpr); this command line runs a "
        "worked example on data shipped with the package.",
        epilog="Run 'python -m skpr demo --help' for the options of the demo.",
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    demo = commands.add_parser(
        "demo",
        help="fit BlockRidge on the bundled NICE methane set and report its "
        "prediction rigidities and calibration",
        description="Fit BlockRidge on the bundled NICE methane energies (500 "
        "structures, 160 features; 80/20 train/test split, alpha by 5-fold "
        "cross-validation), then print the test RMSE, the prediction rigidities "
        "(PR) of the training and test structures and the calibration of the "
        "predicted uncertainties on the test set, and write the calibration "
        "figure. Takes a few seconds. The figure needs matplotlib "
        '(pip install "skpr[plot]"); without it the report is printed alone.',
    )
    demo.add_argument(
        "--output",
        metavar="FILE",
        type=_figure_path,
        default=DEFAULT_OUTPUT,
        help="file for the calibration figure; its folder must exist and its "
        f"suffix sets the format ({', '.join(IMAGE_SUFFIXES)}); checked before "
        "any work (default: %(default)s, in the current folder)",
    )
    demo.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=0,
        help="seed of the random train/test split (default: %(default)s)",
    )
    return parser


def main(argv=None):
    """Run the command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments after ``python -m skpr``; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status, 0 on success. Wrong arguments, including an ``--output``
        that cannot be written, print a one-line error after the usage and
        exit with status 2 (:class:`SystemExit`), as argparse does.
    """
    args = _parser().parse_args(argv)
    if args.command == "demo":
        run_demo(args.output, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
