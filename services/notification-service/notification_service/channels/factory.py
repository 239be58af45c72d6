"""The channel each kind of message goes out on, from the settings; a channel with no
provider configured writes to the log instead, and says so in /readyz."""

from notification_service.channels.base import Channel
from notification_service.channels.email import SmtpChannel
from notification_service.channels.logging_channel import LoggingChannel
from notification_service.channels.notify import NotifySmsChannel
from notification_service.channels.push import PushWebhookChannel
from notification_service.settings import Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {
        "email": LoggingChannel("email"),
        "sms": LoggingChannel("sms"),
        "push": LoggingChannel("push"),
    }
    if settings.smtp_host:
        channels["email"] = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_address=settings.smtp_from_address,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            timeout_s=settings.smtp_timeout_s,
        )
    if settings.notify_api_key.get_secret_value():
        channels["sms"] = NotifySmsChannel(
            base_url=settings.notify_base_url,
            api_key=settings.notify_api_key.get_secret_value(),
            template_id=settings.notify_sms_template_id,
            timeout_s=settings.notify_timeout_s,
        )
    if settings.push_webhook_url:
        channels["push"] = PushWebhookChannel(
            url=settings.push_webhook_url,
            secret=settings.push_webhook_secret.get_secret_value(),
            timeout_s=settings.push_timeout_s,
        )
    return channels
