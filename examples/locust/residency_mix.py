# residency_mix.py -- seed 004's mixed workload as a locustfile: 10% admin, 30% faculty,
# 60% resident users against the Residency Scheduler API, each logging in once (OAuth2
# password form -> bearer token) and logging in again after a 401.
#
# Runs as it is under Locust (`locust -f examples/locust/residency_mix.py --host URL`) and as
# a faultline load block (plans/residency-scheduler/db-outage-locust.yaml):
#   load: [ { name: mix, locust: { file: examples/locust/residency_mix.py, users: 50, spawn_rate: 10, host: URL } } ]
# Credentials from the environment, as the team's k6 scenarios take them: ADMIN_USER /
# ADMIN_PASSWORD, FACULTY_USER / FACULTY_PASSWORD, RESIDENT_USER / RESIDENT_PASSWORD.
# Tags: admin, faculty, resident (`locust: { tags: [resident] }` runs only those tasks).
# Requests are named (people, assignments, validate, generate, login) so faultline's reports
# group them by endpoint rather than by URL.
import os

from locust import HttpUser, between, tag, task

DATES = "start_date=2026-01-05&end_date=2026-02-01"


class _SchedulerUser(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self):
        self.login()

    def login(self):
        user = os.environ.get(self.role.upper() + "_USER", self.role)
        password = os.environ.get(self.role.upper() + "_PASSWORD", "")
        with self.client.post("/api/v1/auth/login", data={"username": user, "password": password},
                              name="login", catch_response=True) as r:
            token = None
            if r.status_code == 200:
                try:
                    token = r.json().get("access_token")
                except ValueError:
                    token = None
            if token:
                self.client.headers["Authorization"] = "Bearer " + token
                r.success()
            else:
                self.client.headers.pop("Authorization", None)
                r.failure("login failed: HTTP %d" % r.status_code)

    def get(self, path, name):
        with self.client.get(path, name=name, catch_response=True) as r:
            if r.status_code == 401:
                r.failure("401: token expired or refused")
                self.login()
            elif r.status_code >= 400:
                r.failure("HTTP %d" % r.status_code)


class AdminUser(_SchedulerUser):
    weight = 1   # 10 %
    role = "admin"

    @tag("admin")
    @task(4)
    def people(self):
        self.get("/api/v1/people", "people")

    @tag("admin")
    @task(4)
    def validate(self):
        self.get("/api/v1/schedule/validate?" + DATES, "validate")

    @tag("admin")
    @task(2)
    def assignments(self):
        self.get("/api/v1/assignments?" + DATES, "assignments")


class FacultyUser(_SchedulerUser):
    weight = 3   # 30 %
    role = "faculty"

    @tag("faculty")
    @task(5)
    def assignments(self):
        self.get("/api/v1/assignments?" + DATES, "assignments")

    @tag("faculty")
    @task(3)
    def people(self):
        self.get("/api/v1/people", "people")

    @tag("faculty")
    @task(2)
    def validate(self):
        self.get("/api/v1/schedule/validate?" + DATES, "validate")


class ResidentUser(_SchedulerUser):
    weight = 6   # 60 %
    role = "resident"

    @tag("resident")
    @task(7)
    def assignments(self):
        self.get("/api/v1/assignments?" + DATES, "assignments")

    @tag("resident")
    @task(3)
    def people(self):
        self.get("/api/v1/people", "people")
