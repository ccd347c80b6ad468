#!/usr/bin/env python3
"""A local SMTP sink (Python standard library only): accepts every mail and writes it,
raw, to DIR/<n>.eml. For trying Pharos's reminders on one machine; never for production.

Usage: smtp_sink.py PORT DIR
"""
import asyncio
import itertools
import pathlib
import sys

counter = itertools.count(1)


async def session(reader, writer, out):
    def send(line):
        writer.write(line.encode() + b"\r\n")

    send("220 pharos-sink ESMTP")
    await writer.drain()
    while line := await reader.readline():
        verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            send("250-pharos-sink" if verb == "EHLO" else "250 pharos-sink")
            if verb == "EHLO":
                send("250 8BITMIME")
        elif verb == "DATA":
            send("354 end with <CRLF>.<CRLF>")
            await writer.drain()
            lines = []
            while (data := await reader.readline()) not in (b".\r\n", b".\n", b""):
                lines.append(data[1:] if data.startswith(b"..") else data)
            (out / f"{next(counter):06d}.eml").write_bytes(b"".join(lines))
            send("250 queued")
        elif verb == "QUIT":
            send("221 bye")
            await writer.drain()
            break
        elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
            send("250 ok")
        else:
            send("502 not implemented")
        await writer.drain()
    writer.close()


async def main(port, out):
    out.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_server(
        lambda r, w: session(r, w, out), "127.0.0.1", port
    )
    print(f"smtp sink on smtp://127.0.0.1:{port}, mails in {out}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        asyncio.run(main(int(sys.argv[1]), pathlib.Path(sys.argv[2])))
    except KeyboardInterrupt:
        pass
