from flask import Blueprint, current_app, jsonify

bp = Blueprint("board", __name__)


@bp.route("/")
def index():
    return jsonify(board=current_app.config["BOARD_NAME"], message="hello from flaskr")
