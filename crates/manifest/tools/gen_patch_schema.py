#!/usr/bin/env python3
"""Regenerates crates/manifest/src/render/patch/schema_data.rs from kustomize's sources.

    tools/gen_patch_schema.py KUSTOMIZE_GIT_DIR [TAG]

Reads, at TAG (default kustomize/v5.8.1), the built-in OpenAPI document kustomize compiles in
(`kyaml/openapi/kubernetesapi/v1_21_2/swagger.pb`, a gnostic OpenAPI v2 protobuf, decoded here
from the wire format) and the precomputed namespace scopes in `kyaml/openapi/openapi.go`, and
writes the schema graph the strategic merge needs: object properties, map values, list items,
`x-kubernetes-patch-strategy` and merge keys, the kinds by apiVersion, the cluster-scoped kinds.
"""
import json, os, re, subprocess, sys
REPO = sys.argv[1]
TAG = sys.argv[2] if len(sys.argv) > 2 else 'kustomize/v5.8.1'
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src', 'render', 'patch', 'schema_data.rs')

data = subprocess.run(['git', '-C', REPO, 'show', TAG + ':kyaml/openapi/kubernetesapi/v1_21_2/swagger.pb'], check=True, capture_output=True).stdout

def varint(b, i):
    r = 0; s = 0
    while True:
        c = b[i]; i += 1
        r |= (c & 0x7f) << s; s += 7
        if not c & 0x80: return r, i

def fields(b):
    i = 0; out = []
    while i < len(b):
        k, i = varint(b, i)
        fn, wt = k >> 3, k & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            l, i = varint(b, i); v = b[i:i+l]; i += l
        elif wt == 1:
            v = b[i:i+8]; i += 8
        elif wt == 5:
            v = b[i:i+4]; i += 4
        else:
            raise ValueError(wt)
        out.append((fn, v))
    return out

doc = fields(data)
defs = [v for f, v in doc if f == 9][0]
nameds = [v for f, v in fields(defs) if f == 1]

def schema(b):
    s = {'ref': None, 'type': [], 'items': None, 'props': {}, 'additional': None, 'ext': {}}
    for f, v in fields(b):
        if f == 1: s['ref'] = v.decode()
        elif f == 22: s['type'] = [x.decode() for ff, x in fields(v) if ff == 1]
        elif f == 23:
            its = [x for ff, x in fields(v) if ff == 1]
            if its: s['items'] = schema(its[0])
        elif f == 25:
            for ff, ns in fields(v):
                nf = dict(fields(ns)); s['props'][nf[1].decode()] = schema(nf[2])
        elif f == 21:
            for ff, x in fields(v):
                if ff == 1: s['additional'] = schema(x)
        elif f == 31:
            nf = dict(fields(v)); anyf = dict(fields(nf[2]))
            s['ext'][nf[1].decode()] = anyf.get(2, b'').decode()
    return s

D = {}
for n in nameds:
    nf = dict(fields(n)); D[nf[1].decode()] = schema(nf[2])

nodes = []  # list of dicts
index = {}
LEAF = 0; PLAIN_ARRAY = 1
nodes.append(dict(props=[], additional=None, items=None, is_array=False, strategy='', keys=[], name='scalar'))
nodes.append(dict(props=[], additional=None, items=None, is_array=True, strategy='', keys=[], name='array without merge strategy'))

def yaml_str(v):
    return v.strip().strip('"')
def yaml_list(v):
    return [x.strip()[2:].strip().strip('"') for x in v.strip().splitlines()]

def strat(s):
    st = yaml_str(s['ext'].get('x-kubernetes-patch-strategy', ''))
    if not st: return '', []
    if 'x-kubernetes-list-map-keys' in s['ext']:
        return st, yaml_list(s['ext']['x-kubernetes-list-map-keys'])
    if 'x-kubernetes-patch-merge-key' in s['ext']:
        return st, [yaml_str(s['ext']['x-kubernetes-patch-merge-key'])]
    return st, []

def resolve(s):
    seen = 0
    while s['ref']:
        name = s['ref'].split('/')[-1]
        s = D[name]; seen += 1
        assert seen < 50
    return s

def node_for(s, path):
    """index of the node for schema s (as kyaml would see it after resolving refs)"""
    if s['ref']:
        name = s['ref'].split('/')[-1]
        return def_node(name)
    is_array = s['type'] == ['array']
    st, keys = strat(s)
    if is_array:
        if 'merge' not in st.split(','):
            return PLAIN_ARRAY
        idx = len(nodes); nodes.append(None)
        items = node_for(s['items'], path + '[]') if s['items'] else None
        nodes[idx] = dict(props=[], additional=None, items=items, is_array=True, strategy=st, keys=keys, name=path)
        return idx
    if not s['props'] and not s['additional']:
        return LEAF
    idx = len(nodes); nodes.append(None)
    props = [(p, node_for(ps, path + '.' + p)) for p, ps in sorted(s['props'].items())]
    add = node_for(s['additional'], path + '{}') if s['additional'] else None
    nodes[idx] = dict(props=props, additional=add, items=None, is_array=False, strategy=st, keys=keys, name=path)
    return idx

def def_node(name):
    if name in index: return index[name]
    s = D[name]
    if not s['props'] and not s['additional'] and s['type'] != ['array']:
        index[name] = LEAF; return LEAF
    idx = len(nodes); nodes.append(None); index[name] = idx
    is_array = s['type'] == ['array']
    st, keys = strat(s)
    props = [(p, node_for(ps, name + '.' + p)) for p, ps in sorted(s['props'].items())]
    add = node_for(s['additional'], name + '{}') if s['additional'] else None
    items = node_for(s['items'], name + '[]') if (is_array and s['items']) else None
    nodes[idx] = dict(props=props, additional=add, items=items, is_array=is_array, strategy=st, keys=keys, name=name)
    return idx

types = []
for name, s in sorted(D.items()):
    g = s['ext'].get('x-kubernetes-group-version-kind')
    if not g: continue
    # yaml list of maps
    items = re.split(r'^- ', g, flags=re.M)
    for it in items:
        if not it.strip(): continue
        kv = {}
        for line in it.splitlines():
            line = line.strip()
            if not line: continue
            k, v = line.split(':', 1); kv[k.strip()] = v.strip().strip('"')
        av = kv['version'] if not kv.get('group') else kv['group'] + '/' + kv['version']
        types.append((av, kv['kind'], def_node(name)))
types.sort()
# duplicate typemeta? kyaml: later wins? check
seen = {}
for av, k, i in types:
    if (av, k) in seen and seen[(av, k)] != i: print('DUP', av, k)
    seen[(av, k)] = i

cs = re.findall(r'\{APIVersion: "([^"]+)", Kind: "([^"]+)"\}:\s+(true|false)', subprocess.run(['git', '-C', REPO, 'show', TAG + ':kyaml/openapi/openapi.go'], check=True, capture_output=True, text=True).stdout)
cluster = sorted((a, k) for a, k, v in cs if v == 'false')

def q(x): return json.dumps(x)
out = []
out.append('// @generated by crates/manifest/tools/gen_patch_schema.py from kustomize v5.8.1')
out.append('// `kyaml/openapi/kubernetesapi/v1_21_2/swagger.pb`')
out.append('// (definitions, x-kubernetes-patch-strategy, x-kubernetes-list-map-keys,')
out.append('// x-kubernetes-patch-merge-key, x-kubernetes-group-version-kind) and `kyaml/openapi/openapi.go`')
out.append('// (precomputedIsNamespaceScoped). Node 0: a schema without fields; node 1: a list that is')
out.append('// replaced whole. Do not edit by hand.')
out.append('')
out.append('static NODES: &[SNode] = &[')
for i, n in enumerate(nodes):
    props = ', '.join('(%s, %d)' % (q(p), j) for p, j in n['props'])
    add = 'None' if n['additional'] is None else 'Some(%d)' % n['additional']
    items = 'None' if n['items'] is None else 'Some(%d)' % n['items']
    keys = ', '.join(q(k) for k in n['keys'])
    out.append('    // %d: %s' % (i, n['name']))
    out.append('    SNode { props: &[%s], additional: %s, items: %s, is_array: %s, strategy: %s, keys: &[%s] },' % (
        props, add, items, 'true' if n['is_array'] else 'false', q(n['strategy']), keys))
out.append('];')
out.append('')
out.append('static TYPES: &[(&str, &str, u16)] = &[')
for av, k, i in types:
    out.append('    (%s, %s, %d),' % (q(av), q(k), i))
out.append('];')
out.append('')
out.append('static CLUSTER_SCOPED: &[(&str, &str)] = &[')
for a, k in cluster:
    out.append('    (%s, %s),' % (q(a), q(k)))
out.append('];')
open(OUT, 'w').write('\n'.join(out) + '\n')
print(len(nodes), len(types), len(cluster))
