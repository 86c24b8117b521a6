"""Backups in the app: File → Back up now… and Restore from backup…, Settings → Automatic
backups, the dashboard's backup status, and the background runs after changes."""
