"""A throwaway SMTP server for the delivery tests (Debian's aiosmtpd; run with /usr/bin/python3).

Listens on 127.0.0.1 at a free port and prints the port on the first line of stdout once it
accepts connections. Exits when its stdin closes, so it never outlives the test that started it.
Each accepted message is written to DIR/msg-N.eml with the envelope in DIR/msg-N.env.

Modes (--mode): ok; 451-once (451 to the first DATA, then 250); 554 (554 to every DATA);
stall (accept the connection, then never answer DATA for --stall seconds).
--tls-cert/--tls-key enable STARTTLS and require it (with --implicit-tls: TLS from the first byte,
as for smtps://); --user/--password require AUTH.
"""
import argparse
import asyncio
import logging
import os
import socket
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0
        self.data_seen = 0

    async def handle_DATA(self, server, session, envelope):
        self.data_seen += 1
        mode = self.args.mode
        if mode == "451-once" and self.data_seen == 1:
            return "451 4.3.0 try again later"
        if mode == "554":
            return "554 5.7.1 message refused"
        if mode == "stall":
            await asyncio.sleep(self.args.stall)
        self.count += 1
        base = os.path.join(self.args.dir, "msg-%d" % self.count)
        with open(base + ".env", "w") as env:
            env.write("from %s\n" % envelope.mail_from)
            for rcpt in envelope.rcpt_tos:
                env.write("to %s\n" % rcpt)
            env.write("tls %s\n" % ("yes" if session.ssl else "no"))
            env.write("auth %s\n" % ("yes" if session.authenticated else "no"))
        with open(base + ".tmp", "wb") as out:
            out.write(envelope.original_content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 2.0.0 queued"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--mode", default="ok")
    p.add_argument("--stall", type=float, default=30)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--user")
    p.add_argument("--password")
    args = p.parse_args()
    # aiosmtpd warns on every successful AUTH that its own Session.login_data is deprecated.
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login.decode() == args.user and
              auth_data.password.decode() == args.password)
        # handled=False: aiosmtpd then sends the 535 itself (handled=True would send nothing).
        return AuthResult(success=ok, handled=False)

    handler = Handler(args)

    def factory():
        kwargs = {}
        if context is not None and not args.implicit_tls:
            kwargs.update(tls_context=context, require_starttls=True)
        if args.user:
            kwargs.update(auth_required=True, authenticator=authenticator,
                          auth_require_tls=context is not None and not args.implicit_tls)
        else:
            kwargs.update(auth_require_tls=False)
        return SMTP(handler, hostname="veribind-test", **kwargs)

    # IPPROTO_TCP named: asyncio turns Nagle off only for sockets whose proto says TCP, and each
    # reply line is its own write (with Nagle on, every multi-line reply waits for an ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    loop = asyncio.new_event_loop()
    implicit = context if args.implicit_tls else None
    loop.run_until_complete(loop.create_server(factory, sock=sock, ssl=implicit))
    print(sock.getsockname()[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    loop.run_forever()


if __name__ == "__main__":
    main()
