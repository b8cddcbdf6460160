# A tiny evaluator for the subset of Go templates used by the KUDO configmap templates we embed:
# {{ if COND }} / {{ else }} / {{ end }}, {{ .Params.X }}, {{ .Name }}, {{ .Namespace }}.
import re
def render(text, params, name, ns, opname):
    out=[]; stack=[]  # each: (active_parent, cond_taken, active)
    active=True
    tok=re.compile(r'{{-?\s*(.*?)\s*-?}}')
    def val(expr):
        expr=expr.strip()
        m=re.fullmatch(r'\$?\.Params\.(\w+)',expr)
        if m: return str(params.get(m.group(1),'') or '')
        if re.fullmatch(r'\$?\.Name',expr): return name
        if re.fullmatch(r'\$?\.Namespace',expr): return ns
        if re.fullmatch(r'\$?\.OperatorName',expr): return opname
        m=re.fullmatch(r'"(.*)"',expr)
        if m: return m.group(1)
        return None
    def cond(c):
        c=c.strip()
        m=re.fullmatch(r'\((.*)\)',c)
        if m: return cond(m.group(1))
        m=re.fullmatch(r'(eq|ne)\s+(\S+)\s+("[^"]*"|\S+)',c)
        if m:
            a=val(m.group(2)); b=val(m.group(3))
            return (a==b) if m.group(1)=='eq' else (a!=b)
        m=re.fullmatch(r'or\s+(.*)',c)
        if m:
            parts=re.findall(r'\([^()]*\)',m.group(1))
            return any(cond(p) for p in parts)
        v=val(c)
        return bool(v) and v!='false'
    for line in text.split('\n'):
        stripped=line.strip()
        ctl=re.fullmatch(r'{{-?\s*(if|else|end|range|\$\w+\s*:?=)(.*?)-?}}',stripped)
        if ctl:
            kw=ctl.group(1)
            if kw=='if':
                c=active and cond(ctl.group(2))
                stack.append((active,c)); active=c
            elif kw=='else':
                parent,taken=stack[-1]; active=parent and not taken
                stack[-1]=(parent,True)
            elif kw=='end':
                active,_=stack.pop()
            continue
        if not active: continue
        def sub(m):
            v=val(m.group(1))
            return v if v is not None else m.group(0)
        out.append(tok.sub(sub,line))
    return '\n'.join(out)
