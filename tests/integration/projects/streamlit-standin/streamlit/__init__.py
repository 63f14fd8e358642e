"""A STAND-IN for Streamlit, for the ocifs integration tests only.

Streamlit is not packaged in Debian, so the tests run the frameworks plugin's Streamlit command
against this module instead. It understands just what that command uses: `python3 -m streamlit
run FILE --server.address A --server.port P --server.headless true`. It runs FILE once, collecting
what st.title and st.write were given, then serves it over HTTP: `/` answers the collected text and
`/_stcore/health` answers "ok", as Streamlit's health endpoint does.
"""

_output = []


def title(text):
    _output.append(str(text))


def write(*parts):
    _output.append(" ".join(str(p) for p in parts))
