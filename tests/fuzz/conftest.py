"""Hypothesis keeps its files (example database, constants cache) outside the checkout."""

import os
import tempfile

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "thinc-hypothesis"))
