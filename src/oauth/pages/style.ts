/** The pages' one stylesheet, served from the binary at /oauth/style.css (the CSP allows no inline style). */
export const stylesheet = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#5b636e;--bg:#f6f7f9;--card:#fff;--line:#d6dae0;--accent:#1f5fd1;--danger:#b42318}
@media (prefers-color-scheme:dark){:root{--fg:#e8eaed;--muted:#a5acb6;--bg:#111418;--card:#1b1f24;--line:#323842;--accent:#6ea0ff;--danger:#ff7b72}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:28rem;margin:0 auto;padding:2rem 1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.5rem}
h1{font-size:1.35rem;margin:0 0 .25rem}
p{margin:.5rem 0}
.muted{color:var(--muted);font-size:.9rem}
.brand{font-weight:600;letter-spacing:.02em;color:var(--muted);margin-bottom:1rem;font-size:.9rem}
label{display:block;margin:.9rem 0 .3rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.7rem .8rem;font:inherit;color:inherit;background:transparent;border:1px solid var(--line);border-radius:8px}
input:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{display:inline-block;width:100%;margin-top:1.1rem;padding:.75rem 1rem;font:inherit;font-weight:600;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:transparent;color:var(--fg);border-color:var(--line)}
button.danger{background:transparent;color:var(--danger);border-color:var(--danger);width:auto;margin:0;padding:.4rem .8rem}
.row{display:flex;gap:.75rem}
.row button{flex:1}
.error{border:1px solid var(--danger);color:var(--danger);border-radius:8px;padding:.6rem .8rem;margin:.8rem 0}
fieldset{border:1px solid var(--line);border-radius:8px;margin:1rem 0 0;padding:.5rem .9rem}
legend{font-weight:600;padding:0 .3rem}
.scope{display:flex;gap:.6rem;align-items:flex-start;margin:.5rem 0;font-weight:400}
.scope input{margin-top:.35rem;width:1.1rem;height:1.1rem}
.scope small{display:block;color:var(--muted)}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;margin:1rem 0}
dt{color:var(--muted)}
dd{margin:0;word-break:break-word}
details{margin-top:1.2rem}
summary{cursor:pointer;color:var(--accent)}
ul.apps{list-style:none;padding:0;margin:1rem 0}
ul.apps li{border-top:1px solid var(--line);padding:.8rem 0;display:flex;justify-content:space-between;gap:1rem;align-items:center}
ul.apps li div{min-width:0}
code{font-size:.9em;word-break:break-all}
`;
