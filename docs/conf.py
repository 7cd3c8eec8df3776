"""Sphinx configuration for the skpr documentation."""

project = "skpr"
author = "the skpr developers"
copyright = "2026, the skpr developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax served from the built site itself: math renders offline
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    # the execution-times page loads jQuery and DataTables from a CDN; the
    # site must work offline
    "write_computation_times": False,
}

html_theme = "alabaster"


def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Leave out of class pages the methods scikit-learn's base classes add.

    ``get_params``, ``set_params``, ``score``, ``set_output`` and the
    ``set_*_request`` methods of metadata routing are documented by
    scikit-learn; the class template says so in one line.
    """
    if what == "class" and (getattr(obj, "__module__", None) or "").startswith(
        "sklearn"
    ):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
