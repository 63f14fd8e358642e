from flask import Blueprint, current_app

bp = Blueprint("main", __name__)


@bp.route("/")
@bp.route("/index")
def index():
    return {"message": "hello from " + current_app.config["BLOG_TITLE"]}
