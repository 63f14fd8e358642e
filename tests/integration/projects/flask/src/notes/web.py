from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(framework="flask", message="hello from notes")
