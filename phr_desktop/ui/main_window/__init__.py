"""The main window and its parts: menus and actions, the dialogs it opens, importing."""
