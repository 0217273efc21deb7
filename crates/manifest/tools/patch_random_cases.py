#!/usr/bin/env python3
"""Generates random patch cases in the layout of crates/manifest/tests/patch_baseline.

    tools/patch_random_cases.py smp|selector|json SEED COUNT OUT_DIR
    KUBECTL=... OUT_DIR/make_baseline.sh        # kustomize's answers
    PUSHGUARD_PATCH_BASELINE=OUT_DIR cargo test -p pushguard-manifest --test patch cases

Cases pushguard refuses show up as failures ("kustomize applies it, pushguard fails"); read
them against the refusals listed in tests/patch.rs. Cases worth keeping go into
tests/patch_baseline by hand.
"""
import json, os, random, shutil, sys

OBJS = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n  labels: {app: web, tier: front}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  labels: {app: api, tier: back, rank: "5"}\n  annotations: {skip: "1"}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: prod\n  labels: {app: web}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n  labels: {app: web, rank: "2"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: default\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  labels: {rank: "10"}\n'
DEP = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n  labels: {app: web, tier: front}\n  annotations: {team: a}\n  finalizers: [a.example.com/x, b.example.com/y]\nspec:\n  replicas: 2\n  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1}}\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      hostNetwork: false\n      tolerations: [{key: a, operator: Exists}]\n      imagePullSecrets: [{name: reg1}]\n      initContainers: [{name: init, image: busybox}]\n      containers:\n      - name: app\n        image: app:1\n        env: [{name: A, value: "1"}, {name: B, value: "2"}]\n        ports: [{containerPort: 80}, {containerPort: 81, protocol: UDP}]\n        volumeMounts: [{name: data, mountPath: /data}]\n        securityContext: {runAsNonRoot: true}\n      - name: sidecar\n        image: side:1\n      volumes: [{name: data, emptyDir: {}}, {name: cfg, configMap: {name: cfg}}]\n'

def smp_cases(root, N):
    
    PORTS = ['{containerPort: 80}', '{containerPort: 80, protocol: TCP}', '{containerPort: 80, protocol: UDP}', '{containerPort: 90}', '{containerPort: 90, protocol: TCP, name: x}', '{containerPort: 80, name: web}']
    ENVS = ['{name: A, value: "1"}', '{name: B, value: "2"}', '{name: A, value: "3"}', '{name: C}', '{name: A, value: null}', '{name: B, $patch: delete}', '{$patch: replace}', '{name: D, valueFrom: {fieldRef: {fieldPath: x}}}', '{$patch: delete}', '{name: C, $patch: replace, value: "9"}']
    def flow_list(items): return '[' + ', '.join(items) + ']'
    def container(name, patch):
        f = ['name: ' + name]
        if not patch or random.random() < 0.3: f.append('image: ' + name + str(random.randint(1, 3)))
        r = random.random()
        if r < 0.3: f.append('ports: ' + flow_list(random.sample(PORTS, random.randint(0, 3))))
        r = random.random()
        if r < 0.5: f.append('env: ' + flow_list([e for e in random.sample(ENVS, random.randint(0, 4)) if patch or ('$patch' not in e and 'null' not in e)]))
        if patch:
            r = random.random()
            if r < 0.1: f.append('$patch: delete')
            elif r < 0.2: f.append('$patch: replace')
            elif r < 0.25: f.append('$patch: merge')
            r = random.random()
            if r < 0.15: f.append('securityContext: null')
            elif r < 0.35: f.append('securityContext: {privileged: true, runAsUser: null}')
            elif r < 0.4: f.append('securityContext: {$patch: delete}')
            elif r < 0.5: f.append('securityContext: {$patch: replace, capabilities: {add: [NET_ADMIN], drop: null}}')
            elif r < 0.55: f.append('resources: {limits: {cpu: null}, $patch: merge}')
            if random.random() < 0.1 and not any(x.startswith('ports') for x in f): f.append('ports: null')
        else:
            if random.random() < 0.4: f.append('securityContext: {runAsUser: 1, runAsNonRoot: true}')
        return '{' + ', '.join(f) + '}'
    def clist(patch, names):
        items = [container(random.choice(names), patch) for _ in range(random.randint(0, 3))]
        if patch and random.random() < 0.15:
            items.insert(random.randint(0, len(items)), '{$patch: ' + random.choice(['replace', 'delete', 'merge']) + '}')
        return flow_list(items)
    for i in range(N):
        d = os.path.join(root, 'f%04d' % i); os.makedirs(d)
        tgt = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n'
        tgt += '  containers: ' + clist(False, ['a', 'b', 'c']) + '\n'
        if random.random() < 0.5: tgt += '  initContainers: ' + clist(False, ['i', 'a']) + '\n'
        if random.random() < 0.5: tgt += '  volumes: [{name: v, emptyDir: {}}, {name: w, configMap: {name: c}}]\n'
        if random.random() < 0.3: tgt += '  tolerations: [{key: t, operator: Exists}]\n'
        pt = 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n'
        if random.random() < 0.9: pt += '  containers: ' + clist(True, ['a', 'b', 'c', 'd']) + '\n'
        if random.random() < 0.3: pt += '  initContainers: ' + clist(True, ['i', 'a', 'z']) + '\n'
        r = random.random()
        if r < 0.2: pt += '  volumes: [{name: v, hostPath: {path: /}, emptyDir: null}]\n'
        elif r < 0.3: pt += '  volumes: [{$patch: replace}, {name: x, emptyDir: {}}]\n'
        elif r < 0.35: pt += '  volumes: null\n'
        if random.random() < 0.2: pt += '  tolerations: [{key: u, operator: Exists}]\n'
        if random.random() < 0.2: pt += '  hostNetwork: true\n'
        open(os.path.join(d, 'target.yaml'), 'w').write(tgt)
        open(os.path.join(d, 'patch.yaml'), 'w').write(pt)

def selector_cases(root, N):
    MARK = 'apiVersion: v1\nkind: Marker\nmetadata:\n  name: marker\n  annotations: {selected: "yes"}\n'
    toks = ['app', 'tier', 'rank', 'skip', 'web', 'api', 'front', 'back', '5', '2', '10', 'in', 'notin', '=', '==', '!=', '!', '>', '<', '(', ')', ',', ' ', 'example.com/x', '-', 'a.b', '']
    for i in range(N):
        sel = ''.join(random.choice(toks) + random.choice(['', ' ']) for _ in range(random.randint(1, 7)))
        if random.random() < 0.5:
            # mostly valid shapes
            k = random.choice(['app', 'tier', 'rank', 'skip', 'in'])
            sel = random.choice([f'{k}', f'!{k}', f'{k}=web', f'{k}!=web', f'{k} in (web,api)', f'{k} notin (front)', f'{k}>3', f'{k}<6', f'{k} in ()', f'{k} in (,)', f'{k}==']) 
            if random.random() < 0.5:
                sel += ',' + random.choice(['tier=front', '!skip', 'rank', 'app in (web)', 'tier notin (back,front)'])
        key = random.choice(['labelSelector', 'annotationSelector'])
        d = os.path.join(root, 's%04d' % i); os.makedirs(d)
        open(os.path.join(d, 'target.yaml'), 'w').write(OBJS)
        open(os.path.join(d, 'patch.yaml'), 'w').write(MARK)
        open(os.path.join(d, 'selector.yaml'), 'w').write(key + ': ' + json.dumps(sel) + '\n')

def json_cases(root, N):
    paths = ['/spec/replicas', '/spec/paused', '/spec/template/spec/containers/0', '/spec/template/spec/containers/1', '/spec/template/spec/containers/2', '/spec/template/spec/containers/-', '/spec/template/spec/containers/-1', '/spec/template/spec/containers/0/securityContext', '/spec/template/spec/containers/0/securityContext/privileged', '/spec/template/spec/containers/1/securityContext/privileged', '/spec/template/spec/hostNetwork', '/metadata/labels/app', '/metadata/labels/x~1y', '/metadata/annotations', '/spec/template/spec/volumes/0/emptyDir', '/spec/template/spec/containers/0/env/1', '/spec/template/spec/containers/00', '/spec/template/spec/containers/1/ports', '/spec/strategy/rollingUpdate', '/spec/template', '', '/', 'spec/replicas', '/spec/template/spec/initContainers/0']
    values = ['true', '3', '{privileged: true}', '{name: x, image: y}', 'null', '[]', '"s"', '{}', '[1, 2]']
    for i in range(N):
        ops = []
        for _ in range(random.randint(1, 4)):
            op = random.choice(['add', 'add', 'replace', 'remove', 'move', 'copy', 'test'])
            o = {'op': op, 'path': random.choice(paths)}
            if op in ('move', 'copy'): o['from'] = random.choice(paths)
            line = '- {op: %s, path: %s' % (op, json.dumps(o['path']))
            if 'from' in o: line += ', from: %s' % json.dumps(o['from'])
            if op in ('add', 'replace', 'test') and random.random() < 0.95:
                line += ', value: ' + random.choice(values + (['2', '{maxSurge: 1}', 'web'] if op == 'test' else []))
            ops.append(line + '}')
        d = os.path.join(root, 'j%04d' % i); os.makedirs(d)
        open(os.path.join(d, 'target.yaml'), 'w').write(DEP)
        open(os.path.join(d, 'ops.yaml'), 'w').write('\n'.join(ops) + '\n')
        open(os.path.join(d, 'selector.yaml'), 'w').write('kind: Deployment\n')


def main():
    kind, seed, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    random.seed(seed)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    {'smp': smp_cases, 'selector': selector_cases, 'json': json_cases}[kind](out, count)
    here = os.path.dirname(os.path.abspath(__file__))
    shutil.copy(os.path.join(here, '..', 'tests', 'patch_baseline', 'make_baseline.sh'), out)


if __name__ == '__main__':
    main()
