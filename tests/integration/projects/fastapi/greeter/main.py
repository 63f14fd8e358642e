from fastapi import FastAPI

app = FastAPI(title="greeter")


@app.get("/")
def root():
    return {"framework": "fastapi", "message": "hello from greeter"}
