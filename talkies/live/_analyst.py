"""Entry of the live speech analysis child process: `python -m talkies.live._analyst FD`."""

import sys

from talkies.live.analysis import serve

if __name__ == "__main__":
    serve(int(sys.argv[1]))
