"""Channels that reach members: e-mail over SMTP, SMS through Aliyun's SMS API, and the
sandboxed renderer of the message templates."""
