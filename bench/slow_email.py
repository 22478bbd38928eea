"""An e-mail backend that takes two seconds a message, like a slow SMTP server or SES."""

import time

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

SECONDS_PER_MESSAGE = 2.0


class SlowEmailBackend(LocmemBackend):
    def send_messages(self, messages):
        time.sleep(SECONDS_PER_MESSAGE * len(messages))
        return super().send_messages(messages)
