from flask import Flask, jsonify


def build():
    web = Flask(__name__)

    @web.get("/")
    def index():
        return jsonify(message="hello from the guestbook")

    return web
