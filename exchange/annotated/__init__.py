"""The annotated copy (加注件): a licence rendered as a PDF stamped with its purpose, user, time and validity,
signed by the hub (PAdES).

`layout` holds the facts a copy shows and the per-dataset templates, `render` lays them out with an
embedded CJK font subset and a QR code carrying the receipt, `signing` adds the hub's PAdES signature.
"""

from exchange.annotated.layout import Annotation, CopyTemplate, FieldLine, template_for
from exchange.annotated.render import render_copy
from exchange.annotated.signing import CopySigner

__all__ = ["Annotation", "CopySigner", "CopyTemplate", "FieldLine", "render_copy", "template_for"]
