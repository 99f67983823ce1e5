# expect: shared-rmw
"""A producer thread and a consumer thread keep a count in a local of the function that
starts them (as speedtest-cli's download() does): both close over the same dict, and
``+= 1`` against ``-= 1`` without a lock loses updates."""

import queue
import threading


def fetch_all(urls, fetch):
    in_flight = {"workers": 0}
    jobs = queue.Queue()

    def producer():
        for url in urls:
            jobs.put(url)
            in_flight["workers"] += 1

    def consumer():
        for _ in urls:
            fetch(jobs.get())
            in_flight["workers"] -= 1

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return in_flight["workers"]
