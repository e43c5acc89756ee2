"""talkies.service: a fal-compatible HTTP service (`talkies serve`) over talkies.animate.

Layout: settings (the only reader of the environment), app + routers (HTTP), submit (request
-> job), queue (Huey), worker (job -> engine -> outcome), store (job state shared by API and
workers), files (uploads and results), fetch (SSRF-guarded input fetching), webhooks,
maintenance (orphaned jobs, deadlines, retention) and errors (the one errors -> HTTP mapping).
"""
