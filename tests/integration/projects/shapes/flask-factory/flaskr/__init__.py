"""A small task board: the Flask application factory builds the app with its blueprints."""
import os

from flask import Flask


def create_app(test_config=None):
    """Create and configure an instance of the application."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", "dev"),
        BOARD_NAME="tasks",
    )
    if test_config is not None:
        app.config.update(test_config)

    from . import board

    app.register_blueprint(board.bp)
    return app
