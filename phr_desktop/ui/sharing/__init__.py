"""The patient's share dialogs and history, and the clinician's share window."""
