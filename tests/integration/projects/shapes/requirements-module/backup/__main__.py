from backup.runner import run

run()
