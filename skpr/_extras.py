"""Optional extras: the install command that works here, and progress bars."""

from pathlib import Path

#: The folder holding skpr's ``pyproject.toml`` when skpr runs from a
#: checkout (an editable install), else ``None``.
_CHECKOUT = Path(__file__).resolve().parents[1]
_CHECKOUT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else None


def install_command(extra):
    """The pip command that installs the optional ``extra`` of skpr here.

    skpr is installed from its repository (it is not on a public index), so
    the command names the checkout: its path when skpr runs from one (an
    editable install), else ``".[extra]"`` to run in the repository's folder.

    Examples
    --------
    >>> install_command("plot")  # doctest: +SKIP
    'pip install -e "/home/me/skpr[plot]"'
    """
    if _CHECKOUT is not None:
        return f'pip install -e "{_CHECKOUT}[{extra}]"'
    return f'pip install ".[{extra}]" (in the skpr repository)'


def progress(iterable, description, *, enabled=True, total=None):
    """``iterable`` behind a tqdm progress bar, or as it is when not enabled.

    Raises an :class:`ImportError` with the install command when a bar is
    asked for and tqdm is not installed.
    """
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError as error:
        raise ImportError(
            f"A progress bar needs tqdm, which is not installed: "
            f"{install_command('progress')} (or pip install tqdm)."
        ) from error
    return tqdm(iterable, desc=description, total=total)
