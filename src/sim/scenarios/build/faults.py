# The fault scenarios of kudo-diag's simulated cluster: each one starts from a healthy built-in
# instance (cassandra or zookeeper, as build.py makes it) and plants one real fault the way the
# cluster and the application record it: the kubelet's and controllers' event reasons and
# messages, container states, node conditions and taints, the application's own log lines and
# tool answers (Cassandra 3.11, ZooKeeper 3.6). Called by build.py with the build module, so the
# objects, logs and outputs are the healthy scenarios' own and only the fault differs.
import copy, json, re

CASS_FILES = ['kudo-crds.yaml', 'cluster.yaml', 'kudo-system.yaml', 'cassandra-operator.yaml']
ZK_FILES = ['kudo-crds.yaml', 'cluster.yaml', 'kudo-system.yaml', 'zookeeper-operator.yaml']
CASS_SRC = ("#   mesosphere/kudo-cassandra-operator (operator package, docs/ for nodetool output),\n"
            "#   kudobuilder/kudo (test/e2e planStatus shapes, config/crds).\n")
ZK_SRC = ("#   kudobuilder/operators repository/zookeeper (operator package),\n"
          "#   kudobuilder/kudo pkg/kudoctl/cmd/diagnostics/testdata (names, namespace, kudo-system objects).\n")
NS = 'production'
INST = 'analytics-cassandra'
PODS = [f'{INST}-node-{i}' for i in range(3)]


def fresh(x):
    """A copy that shares nothing: the healthy scenarios' pods share their spec's lists with the
    StatefulSet's template (as the generator builds them), and a fault changes one pod only."""
    return json.loads(json.dumps(x))


def find(objs, kind, name):
    return next(o for o in objs if o['kind'] == kind and o['metadata']['name'] == name)


def ts(minute, second=0, day=27):
    return f"2026-11-{day:02d}T{8 + minute // 60:02d}:{minute % 60:02d}:{second:02d}Z"


def log_ts(minute, second, ms):
    return f"2026-11-27 {8 + minute // 60:02d}:{minute % 60:02d}:{second:02d},{ms:03d}"


def stamped(minute, second, ms, line):
    """A container log line with the runtime's RFC 3339 stamp, as `kubectl logs --timestamps` shows."""
    return f"2026-11-27T{8 + minute // 60:02d}:{minute % 60:02d}:{second:02d}.{ms:03d}000000Z {line}"


def set_plan(B, objs, inst, status, minute, step_msg=None, step=('deploy', 'nodes', 'node')):
    """The instance's plan `step[0]` in `status` since `minute` (KUDO's planStatus shape)."""
    i = find(objs, 'Instance', inst)
    p = i['status']['planStatus'][step[0]]
    p['status'] = status
    p['lastUpdatedTimestamp'] = ts(minute)
    for ph in p['phases']:
        if ph['name'] == step[1]:
            ph['status'] = status
            for s in ph['steps']:
                if s['name'] == step[2]:
                    s['status'] = status
                    if step_msg:
                        s['message'] = step_msg
        elif status == 'IN_PROGRESS' and ph['status'] == 'COMPLETE' and ph['name'] != step[1]:
            # phases after the running one have not started yet
            after = [x['name'] for x in p['phases']].index(ph['name']) > [x['name'] for x in p['phases']].index(step[1])
            if after:
                ph['status'] = 'PENDING'
                for s in ph['steps']:
                    s['status'] = 'PENDING'
    i['status']['aggregatedStatus'] = {'status': status, 'activePlanName': step[0]}
    return i


def set_params(objs, inst, **params):
    i = find(objs, 'Instance', inst)
    i['spec']['parameters'].update(params)
    ann = i['metadata']['annotations']
    state = json.loads(ann['kudo.dev/last-applied-instance-state'])
    state['parameters'].update(params)
    ann['kudo.dev/last-applied-instance-state'] = json.dumps(state, sort_keys=True)


def container(pod, name, init=False):
    key = 'initContainerStatuses' if init else 'containerStatuses'
    return next(c for c in pod['status'][key] if c['name'] == name)


def not_ready(pod, minute, containers):
    for c in pod['status']['conditions']:
        if c['type'] in ('Ready', 'ContainersReady'):
            c.update({'status': 'False', 'lastTransitionTime': ts(minute), 'reason': 'ContainersNotReady',
                      'message': f"containers with unready status: [{' '.join(containers)}]"})


def sts_ready(objs, name, ready, updated=None, generation=None, rev=None):
    s = find(objs, 'StatefulSet', name)
    st = s['status']
    st['readyReplicas'] = ready; st['availableReplicas'] = ready
    if updated is not None:
        st['updatedReplicas'] = updated; st['currentReplicas'] = st['replicas'] - updated
    if generation:
        s['metadata']['generation'] = generation; st['observedGeneration'] = generation
    if rev:
        st['updateRevision'] = rev
    return s


def pdb_healthy(objs, name, healthy):
    p = find(objs, 'PodDisruptionBudget', name)
    st = p['status']
    st['currentHealthy'] = healthy
    st['disruptionsAllowed'] = max(0, healthy - st['desiredHealthy'])


def endpoints_not_ready(objs, name, pod_names):
    e = find(objs, 'Endpoints', name)
    for sub in e['subsets']:
        moved = [a for a in sub['addresses'] if a['targetRef']['name'] in pod_names]
        sub['addresses'] = [a for a in sub['addresses'] if a['targetRef']['name'] not in pod_names]
        if moved:
            sub['notReadyAddresses'] = sub.get('notReadyAddresses', []) + moved


def nodetool_down(exec_, ips, down, loads=None):
    """nodetool status and describecluster as the live nodes print them with `down` DN."""
    for h in exec_:
        if h.get('container') != 'cassandra' or 'regex' not in h:
            continue
        if h['regex'].endswith(' status$'):
            lines = h['stdout'].split('\n')
            for k, l in enumerate(lines):
                for d in down:
                    if l.startswith('UN  ' + ips[d] + ' '):
                        l = 'DN' + l[2:]
                        if loads:
                            l = re.sub(r"\d+\.\d+ [KMGT]iB", loads[d], l, count=1)
                        lines[k] = l
            h['stdout'] = '\n'.join(lines)
        elif h['regex'].endswith(' describecluster$'):
            up = [ip for k, ip in enumerate(ips) if k not in down]
            h['stdout'] = re.sub(r"\[([0-9., ]+)\]\n\n$", f"[{', '.join(up)}]\n\n\t\tUNREACHABLE: [{', '.join(ips[d] for d in down)}]\n\n", h['stdout'])


def drop_logs(logs, pod, container):
    return [l for l in logs if not (l['pod'] == pod and l['container'] == container)]


def kubelet_events(B, pod, node, minute, items):
    return [B.event(NS, 'Pod', pod, r, m, typ=t, minute=minute + k, count=c, host=node, field=f)
            for k, (r, m, t, c, f) in enumerate(items)]


# ---------- 1. disk full ----------
def disk_full(B):
    name, ns, objs, logs, exec_, files = B.cassandra_scenario(False)
    objs, logs, exec_, files = fresh((objs, logs, exec_, files))
    pod = find(objs, 'Pod', PODS[2]); node = B.NODES[2]
    ips = ['192.168.0.41', '192.168.1.77', '192.168.2.103']
    cs = container(pod, 'cassandra')
    cs.update({'ready': False, 'started': False, 'restartCount': 6,
               'state': {'waiting': {'reason': 'CrashLoopBackOff', 'message': f"back-off 5m0s restarting failed container=cassandra pod={PODS[2]}_{ns}({B.uuid('Pod', ns, PODS[2])})"}},
               'lastState': {'terminated': {'exitCode': 100, 'reason': 'Error', 'startedAt': ts(49, 41), 'finishedAt': ts(50, 7),
                                            'containerID': f"containerd://{B.hexid('cid', PODS[2], 'cassandra-prev')}"}}})
    not_ready(pod, 41, ['cassandra'])
    sts_ready(objs, f'{INST}-node', 2)
    pdb_healthy(objs, f'{INST}-pdb', 2)
    endpoints_not_ready(objs, f'{INST}-svc', [PODS[2]])
    pvc = f'var-lib-cassandra-{PODS[2]}'
    # The first run that hit the full disk: a memtable flush fails, the disk failure policy stops
    # the transports; the liveness probe then restarts the container, and every restart dies
    # replaying the commit log onto the same full volume.
    first = "\n".join([
        f"WARN  [CompactionExecutor:4] {log_ts(37, 55, 402)} CompactionTask.java:102 - Not enough space for compaction, 4.12 GiB estimated.  Reducing scope.",
        f"ERROR [MemtableFlushWriter:3] {log_ts(38, 12, 518)} CassandraDaemon.java:228 - Exception in thread Thread[MemtableFlushWriter:3,5,main]",
        "org.apache.cassandra.io.FSWriteError: java.io.IOException: No space left on device",
        "\tat org.apache.cassandra.io.util.SequentialWriter.flushData(SequentialWriter.java:227)",
        "\tat org.apache.cassandra.io.util.SequentialWriter.doFlush(SequentialWriter.java:169)",
        "\tat org.apache.cassandra.io.sstable.format.big.BigTableWriter.append(BigTableWriter.java:151)",
        "\tat org.apache.cassandra.db.Memtable$FlushRunnable.writeSortedContents(Memtable.java:469)",
        "Caused by: java.io.IOException: No space left on device",
        "\tat sun.nio.ch.FileDispatcherImpl.write0(Native Method)",
        f"ERROR [MemtableFlushWriter:3] {log_ts(38, 12, 530)} DefaultFSErrorHandler.java:66 - Stopping transports as disk_failure_policy is stop",
        f"ERROR [MemtableFlushWriter:3] {log_ts(38, 12, 531)} StorageService.java:466 - Stopping gossiper",
    ]) + "\n"
    prev = "\n".join(stamped(49, 41 + k // 4, k * 7, l) for k, l in enumerate([
        f"INFO  [main] {log_ts(49, 41, 102)} CassandraDaemon.java:507 - JVM Arguments: [-Xloggc:/var/log/cassandra/gc.log, -ea, -XX:+UseParNewGC, -XX:+UseConcMarkSweepGC, -Xms2048M, -Xmx2048M, -Xmn400M]",
        f"INFO  [main] {log_ts(49, 44, 877)} StorageService.java:660 - Cassandra version: 3.11.7",
        f"INFO  [main] {log_ts(49, 47, 210)} CommitLog.java:158 - Replaying /var/lib/cassandra/commitlog/CommitLog-6-1764232693071.log, /var/lib/cassandra/commitlog/CommitLog-6-1764232693072.log",
        f"INFO  [main] {log_ts(49, 58, 4)} ColumnFamilyStore.java:430 - Initializing analytics.events",
        f"ERROR [COMMIT-LOG-ALLOCATOR] {log_ts(50, 6, 911)} JVMStabilityInspector.java:251 - Exiting due to error while processing commit log during initialization.",
        "org.apache.cassandra.io.FSWriteError: java.io.IOException: No space left on device",
        "\tat org.apache.cassandra.db.commitlog.MemoryMappedSegment.createBuffer(MemoryMappedSegment.java:77)",
        "\tat org.apache.cassandra.db.commitlog.CommitLogSegment.<init>(CommitLogSegment.java:185)",
        "\tat org.apache.cassandra.db.commitlog.AbstractCommitLogSegmentManager$1.runMayThrow(AbstractCommitLogSegmentManager.java:122)",
        "Caused by: java.io.IOException: No space left on device",
        "\tat sun.nio.ch.FileChannelImpl.map0(Native Method)",
    ])) + "\n"
    logs = drop_logs(logs, PODS[2], 'cassandra')
    logs.append({'pod': PODS[2], 'container': 'cassandra', 'previous': True, 'inline': prev})
    # The logback file of node-2 keeps the first failure (node-2 cannot be exec'ed into while
    # it crash-loops, so this is what a copy of its volume would show).
    for f in files:
        if f['pod'] == PODS[2] and f['path'] == '/var/log/cassandra/system.log':
            f['content'] += first
    nodetool_down(exec_, ips, [2], loads={2: '19.61 GiB'})
    events = [o for o in objs if o['kind'] == 'Event']
    objs = [o for o in objs if o['kind'] != 'Event'] + events
    objs += kubelet_events(B, PODS[2], node, 39, [
        ('Unhealthy', 'Liveness probe failed: nodetool: Failed to connect to \'127.0.0.1:7199\' - ConnectException: \'Connection refused (Connection refused)\'.', 'Warning', 3, 'spec.containers{cassandra}'),
        ('Killing', 'Container cassandra failed liveness probe, will be restarted', 'Normal', 1, 'spec.containers{cassandra}'),
        ('BackOff', f'Back-off restarting failed container cassandra in pod {PODS[2]}_{ns}({B.uuid("Pod", ns, PODS[2])})', 'Warning', 11, 'spec.containers{cassandra}'),
    ])
    desc = ("KUDO Cassandra whose node-2 data volume (PVC var-lib-cassandra-analytics-cassandra-node-2, 20Gi) is full: "
            "FSWriteError / No space left on device, the container crash-looping while replaying its commit log, nodetool showing node-2 DN.")
    return 'cassandra-disk-full', ns, objs, logs, exec_, files, desc


# ---------- 2. image pull failure after an image parameter change ----------
def image_pull(B):
    name, ns, objs, logs, exec_, files = B.cassandra_scenario(False)
    objs, logs, exec_, files = fresh((objs, logs, exec_, files))
    old = find(objs, 'Pod', PODS[0])['spec']['containers'][0]['image']
    new = 'mesosphere/cassandra:3.11.8-1.0.4'
    set_params(objs, INST, NODE_DOCKER_IMAGE=new)
    set_plan(B, objs, INST, 'IN_PROGRESS', 15)
    rev = f'{INST}-node-7f4c8d9b6a'
    sts = sts_ready(objs, f'{INST}-node', 2, updated=1, generation=2, rev=rev)
    tmpl = sts['spec']['template']['spec']
    for c in tmpl['containers'] + tmpl['initContainers']:
        if c['image'] == old:
            c['image'] = new
    pod = find(objs, 'Pod', PODS[2]); node = B.NODES[2]
    pod['metadata']['creationTimestamp'] = ts(15)
    pod['metadata']['labels']['controller-revision-hash'] = rev
    for c in pod['spec']['containers'] + pod['spec']['initContainers']:
        if c['image'] == old:
            c['image'] = new
    boot = container(pod, 'bootstrap', init=True)
    boot.update({'image': new, 'imageID': '', 'ready': False, 'started': False, 'restartCount': 0, 'lastState': {},
                 'state': {'waiting': {'reason': 'ImagePullBackOff', 'message': f'Back-off pulling image "{new}"'}}})
    boot.pop('containerID', None)
    for c in pod['status']['containerStatuses']:
        c.update({'ready': False, 'started': False, 'restartCount': 0, 'lastState': {}, 'imageID': '',
                  'state': {'waiting': {'reason': 'PodInitializing'}}})
        c.pop('containerID', None)
        if c['name'] == 'cassandra':
            c['image'] = new
    pod['status']['phase'] = 'Pending'
    pod['status'].pop('podIP', None); pod['status'].pop('podIPs', None)
    pod['status']['startTime'] = ts(15)
    for c in pod['status']['conditions']:
        c['lastTransitionTime'] = ts(15)
        if c['type'] == 'Initialized':
            c.update({'status': 'False', 'reason': 'ContainersNotInitialized', 'message': 'containers with incomplete status: [bootstrap]'})
        if c['type'] in ('Ready', 'ContainersReady'):
            c.update({'status': 'False', 'reason': 'ContainersNotReady', 'message': 'containers with unready status: [cassandra prometheus-exporter]'})
        if c['type'] == 'PodReadyToStartContainers':
            c['status'] = 'True'
    pdb_healthy(objs, f'{INST}-pdb', 2)
    endpoints_not_ready(objs, f'{INST}-svc', [PODS[2]])
    for c in ['cassandra', 'prometheus-exporter', 'bootstrap']:
        logs = drop_logs(logs, PODS[2], c)
    files = [f for f in files if f['pod'] != PODS[2]]
    ips = ['192.168.0.41', '192.168.1.77', '192.168.2.103']
    nodetool_down(exec_, ips, [2])
    ref = f'docker.io/{new}'
    pull = f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": {ref}: not found'
    objs = [o for o in objs if not (o['kind'] == 'Event' and o['involvedObject']['name'] == PODS[2])]
    objs.append(B.event(ns, 'Pod', PODS[2], 'Killing', 'Stopping container cassandra', minute=14, host=node, field='spec.containers{cassandra}'))
    objs.append(B.event(ns, 'StatefulSet', f'{INST}-node', 'SuccessfulDelete', f'delete Pod {PODS[2]} in StatefulSet {INST}-node successful', minute=14, component='statefulset-controller', api='apps/v1'))
    objs.append(B.event(ns, 'Pod', PODS[2], 'Scheduled', f'Successfully assigned {ns}/{PODS[2]} to {node}', minute=15, component='default-scheduler'))
    f = 'spec.initContainers{bootstrap}'
    objs += kubelet_events(B, PODS[2], node, 15, [
        ('Pulling', f'Pulling image "{new}"', 'Normal', 9, f),
        ('Failed', f'Failed to pull image "{new}": {pull}', 'Warning', 9, f),
        ('Failed', 'Error: ErrImagePull', 'Warning', 9, f),
        ('BackOff', f'Back-off pulling image "{new}"', 'Normal', 27, f),
        ('Failed', 'Error: ImagePullBackOff', 'Warning', 27, f),
    ])
    desc = (f"KUDO Cassandra after NODE_DOCKER_IMAGE was changed to {new}, a tag the registry does not have: "
            "node-2, the first pod the rolling update replaced, in ImagePullBackOff, the deploy plan IN_PROGRESS.")
    return 'cassandra-image-pull', ns, objs, logs, exec_, files, desc


# ---------- 3. PVC Pending on a missing StorageClass ----------
def storage_class(B):
    name, ns, objs, logs, exec_, files = B.cassandra_scenario(False)
    objs, logs, exec_, files = fresh((objs, logs, exec_, files))
    sc = 'fast-ssd'
    set_params(objs, INST, NODE_STORAGE_CLASS=sc)
    set_plan(B, objs, INST, 'IN_PROGRESS', 4)
    sts = sts_ready(objs, f'{INST}-node', 0, updated=0)
    sts['status'].update({'replicas': 1, 'currentReplicas': 1, 'updatedReplicas': 1})
    sts['spec']['volumeClaimTemplates'][0]['spec']['storageClassName'] = sc
    keep = {PODS[0]}
    drop = set(PODS) - keep
    objs = [o for o in objs if not (o['kind'] == 'Pod' and o['metadata']['name'] in drop)]
    objs = [o for o in objs if not (o['kind'] == 'PersistentVolume')]
    objs = [o for o in objs if not (o['kind'] == 'PersistentVolumeClaim' and o['metadata']['name'] != f'var-lib-cassandra-{PODS[0]}')]
    objs = [o for o in objs if not (o['kind'] == 'Event' and o['involvedObject']['kind'] in ('Pod', 'PersistentVolumeClaim', 'StatefulSet'))]
    pvc = find(objs, 'PersistentVolumeClaim', f'var-lib-cassandra-{PODS[0]}')
    pvc['metadata']['annotations'] = {'pv.beta.kubernetes.io/gid': '999'}
    pvc['spec']['storageClassName'] = sc
    pvc['spec'].pop('volumeName', None)
    pvc['status'] = {'phase': 'Pending'}
    pod = find(objs, 'Pod', PODS[0])
    del pod['spec']['nodeName']
    msg = ('0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. '
           'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.')
    pod['status'] = {'phase': 'Pending', 'qosClass': 'Burstable',
                     'conditions': [{'type': 'PodScheduled', 'status': 'False', 'lastProbeTime': None, 'lastTransitionTime': ts(4),
                                     'reason': 'Unschedulable', 'message': msg}]}
    find(objs, 'Endpoints', f'{INST}-svc')['subsets'] = []
    p = find(objs, 'PodDisruptionBudget', f'{INST}-pdb')
    p['status'].update({'currentHealthy': 0, 'disruptionsAllowed': 0, 'expectedPods': 1})
    objs = [o for o in objs if not (o['kind'] == 'ConfigMap' and o['metadata']['name'] == f'{INST}-topology-lock')]
    logs = [l for l in logs if l['pod'] not in PODS]
    files = []
    exec_ = [h for h in exec_ if h.get('container') != 'cassandra']
    objs.append(B.event(ns, 'StatefulSet', f'{INST}-node', 'SuccessfulCreate', f'create Claim var-lib-cassandra-{PODS[0]} Pod {PODS[0]} in StatefulSet {INST}-node success', minute=4, component='statefulset-controller', api='apps/v1'))
    objs.append(B.event(ns, 'StatefulSet', f'{INST}-node', 'SuccessfulCreate', f'create Pod {PODS[0]} in StatefulSet {INST}-node successful', minute=4, component='statefulset-controller', api='apps/v1'))
    objs.append(B.event(ns, 'PersistentVolumeClaim', f'var-lib-cassandra-{PODS[0]}', 'ProvisioningFailed', f'storageclass.storage.k8s.io "{sc}" not found', typ='Warning', minute=4, count=44, component='persistentvolume-controller'))
    objs.append(B.event(ns, 'Pod', PODS[0], 'FailedScheduling', msg, typ='Warning', minute=4, count=9, component='default-scheduler'))
    desc = (f"KUDO Cassandra installed with NODE_STORAGE_CLASS={sc}, a StorageClass the cluster does not have: "
            "the first node's PersistentVolumeClaim Pending (ProvisioningFailed), its pod unschedulable, the deploy plan IN_PROGRESS.")
    return 'cassandra-storageclass-missing', ns, objs, logs, exec_, files, desc


# ---------- 4. a missing Secret ----------
def missing_secret(B):
    name, ns, objs, logs, exec_, files = B.cassandra_scenario(False)
    objs, logs, exec_, files = fresh((objs, logs, exec_, files))
    secret = 'cassandra-backup-aws'
    ov = find(objs, 'OperatorVersion', 'cassandra-3.11.7-1.0.3')
    medusa_img = next(p['default'] for p in ov['spec']['parameters'] if p['name'] == 'BACKUP_MEDUSA_DOCKER_IMAGE')
    set_params(objs, INST, BACKUP_RESTORE_ENABLED='true', BACKUP_AWS_CREDENTIALS_SECRET=secret, BACKUP_AWS_S3_BUCKET_NAME='analytics-backups')
    set_plan(B, objs, INST, 'IN_PROGRESS', 18)
    rev = f'{INST}-node-58c7b9d4f2'
    env = [{'name': 'AWS_ACCESS_KEY_ID', 'valueFrom': {'secretKeyRef': {'name': secret, 'key': 'access-key'}}},
           {'name': 'AWS_SECRET_ACCESS_KEY', 'valueFrom': {'secretKeyRef': {'name': secret, 'key': 'secret-key'}}},
           {'name': 'AWS_SECURITY_TOKEN', 'valueFrom': {'secretKeyRef': {'name': secret, 'key': 'security-token', 'optional': True}}},
           {'name': 'NODE_NAME', 'valueFrom': {'fieldRef': {'fieldPath': 'spec.nodeName'}}}]
    medusa = {'name': 'medusa-backup', 'image': medusa_img, 'imagePullPolicy': 'Always', 'command': ['bash', '-c'],
              'args': ['/etc/cassandra/generate-cassandra-yaml.sh; /etc/cassandra/prepare-medusa-ini.sh; sleep infinity'], 'env': env,
              'resources': {'requests': {'memory': '256Mi', 'cpu': '100m'}, 'limits': {'memory': '512Mi', 'cpu': '500m'}},
              'volumeMounts': [{'name': 'var-lib-cassandra', 'mountPath': '/var/lib/cassandra/'}, {'name': 'etc-cassandra', 'mountPath': '/etc/cassandra/'}],
              'terminationMessagePath': '/dev/termination-log', 'terminationMessagePolicy': 'File'}
    sts = sts_ready(objs, f'{INST}-node', 2, updated=1, generation=2, rev=rev)
    sts['spec']['template']['spec']['containers'].append(copy.deepcopy(medusa))
    pod = find(objs, 'Pod', PODS[2]); node = B.NODES[2]
    pod['metadata']['creationTimestamp'] = ts(18)
    pod['metadata']['labels']['controller-revision-hash'] = rev
    pod['spec']['containers'].append(medusa)
    pod['status']['phase'] = 'Pending'
    pod['status']['startTime'] = ts(18)
    for c in pod['status']['containerStatuses'] + pod['status']['initContainerStatuses']:
        for k in ('startedAt', 'finishedAt'):
            for st in c['state'].values():
                if k in st:
                    st[k] = ts(18 if k == 'startedAt' else 19)
    pod['status']['containerStatuses'].append({'name': 'medusa-backup', 'image': medusa_img, 'imageID': '', 'ready': False, 'restartCount': 0,
                                               'started': False, 'lastState': {},
                                               'state': {'waiting': {'reason': 'CreateContainerConfigError', 'message': f'secret "{secret}" not found'}}})
    for c in pod['status']['conditions']:
        c['lastTransitionTime'] = ts(18)
    not_ready(pod, 18, ['medusa-backup'])
    pdb_healthy(objs, f'{INST}-pdb', 2)
    endpoints_not_ready(objs, f'{INST}-svc', [PODS[2]])
    objs = [o for o in objs if not (o['kind'] == 'Event' and o['involvedObject']['name'] == PODS[2])]
    objs.append(B.event(ns, 'StatefulSet', f'{INST}-node', 'SuccessfulDelete', f'delete Pod {PODS[2]} in StatefulSet {INST}-node successful', minute=17, component='statefulset-controller', api='apps/v1'))
    objs.append(B.event(ns, 'Pod', PODS[2], 'Scheduled', f'Successfully assigned {ns}/{PODS[2]} to {node}', minute=18, component='default-scheduler'))
    img = find(objs, 'Pod', PODS[0])['spec']['containers'][0]['image']
    objs += kubelet_events(B, PODS[2], node, 18, [
        ('Pulled', f'Container image "{img}" already present on machine', 'Normal', 1, 'spec.initContainers{bootstrap}'),
        ('Started', 'Started container bootstrap', 'Normal', 1, 'spec.initContainers{bootstrap}'),
        ('Started', 'Started container cassandra', 'Normal', 1, 'spec.containers{cassandra}'),
        ('Started', 'Started container prometheus-exporter', 'Normal', 1, 'spec.containers{prometheus-exporter}'),
        ('Pulled', f'Successfully pulled image "{medusa_img}" in 1.204s (1.204s including waiting). Image size: 301884112 bytes.', 'Normal', 1, 'spec.containers{medusa-backup}'),
        ('Failed', f'Error: secret "{secret}" not found', 'Warning', 31, 'spec.containers{medusa-backup}'),
    ])
    desc = (f"KUDO Cassandra after backups were enabled with BACKUP_AWS_CREDENTIALS_SECRET={secret}, a Secret nobody created: "
            "the medusa-backup container of node-2 in CreateContainerConfigError, the deploy plan IN_PROGRESS.")
    return 'cassandra-missing-secret', ns, objs, logs, exec_, files, desc


# ---------- 5. a node NotReady ----------
def node_not_ready(B):
    name, ns, objs, logs, exec_, files = B.cassandra_scenario(False)
    objs, logs, exec_, files = fresh((objs, logs, exec_, files))
    cluster = fresh(B.cluster_objects(['production', 'my-namespace', 'kafka']))
    dead = B.NODES[2]
    for n in cluster:
        if n['kind'] != 'Node':
            continue
        for c in n['status']['conditions']:
            c['lastHeartbeatTime'] = ts(52)
        if n['metadata']['name'] != dead:
            continue
        n['spec']['taints'] = [{'key': 'node.kubernetes.io/unreachable', 'effect': 'NoSchedule', 'timeAdded': ts(21, 10)},
                               {'key': 'node.kubernetes.io/unreachable', 'effect': 'NoExecute', 'timeAdded': ts(21, 15)}]
        for c in n['status']['conditions']:
            c.update({'status': 'Unknown', 'lastHeartbeatTime': ts(20, 31), 'lastTransitionTime': ts(21, 10),
                      'reason': 'NodeStatusUnknown', 'message': 'Kubelet stopped posting node status.'})
    pod = find(objs, 'Pod', PODS[2])
    pod['metadata']['deletionTimestamp'] = ts(26, 45)
    pod['metadata']['deletionGracePeriodSeconds'] = 30
    for c in pod['status']['conditions']:
        if c['type'] == 'Ready':
            c.update({'status': 'False', 'lastTransitionTime': ts(21, 10)})
    pod['status']['conditions'].append({'type': 'DisruptionTarget', 'status': 'True', 'lastProbeTime': None, 'lastTransitionTime': ts(26, 15),
                                        'reason': 'DeletionByTaintManager', 'message': 'Taint manager: deleting due to NoExecute taint'})
    sts_ready(objs, f'{INST}-node', 2)
    pdb_healthy(objs, f'{INST}-pdb', 2)
    endpoints_not_ready(objs, f'{INST}-svc', [PODS[2]])
    ips = ['192.168.0.41', '192.168.1.77', '192.168.2.103']
    nodetool_down(exec_, ips, [2])
    objs += [B.event('default', 'Node', dead, 'NodeNotReady', f'Node {dead} status is now: NodeNotReady', typ='Normal', minute=21, component='node-controller'),
             B.event(ns, 'Pod', PODS[2], 'NodeNotReady', 'Node is not ready', typ='Warning', minute=21, component='node-controller'),
             B.event(ns, 'Pod', PODS[2], 'TaintManagerEviction', f'Marking for deletion Pod {ns}/{PODS[2]}', minute=26, component='taint-eviction-controller')]
    objs[-3]['involvedObject'].pop('namespace', None)
    # Cassandra's peers see node-2 go: gossip marks it DOWN, writes queue hints for it.
    for f in files:
        if f['pod'] in PODS[:2] and f['path'] == '/var/log/cassandra/system.log':
            f['content'] += (f"INFO  [GossipStage:1] {log_ts(20, 49, 301)} Gossiper.java:1085 - InetAddress /{ips[2]} is now DOWN\n"
                             f"WARN  [MutationStage-2] {log_ts(21, 3, 88)} StorageProxy.java:1444 - Hinted handoff for /{ips[2]}: 312 hints pending\n")
    desc = (f"KUDO Cassandra whose node {dead} stopped reporting (Ready Unknown, unreachable taints): "
            "node-2 on it Terminating and not Ready, nodetool on the other nodes showing it DN.")
    # Its own copy of cluster.yaml's objects (kube-system pods included) needs their logs too.
    logs = logs + B.kube_system_logs()
    return 'cassandra-node-notready', ns, objs + cluster, logs, exec_, files, desc


# ---------- 6. ZooKeeper quorum lost ----------
def zk_quorum_lost(B):
    name, ns, objs, logs, exec_, files = B.zookeeper_scenario()
    objs, logs, exec_, files = fresh((objs, logs, exec_, files))
    inst = 'zookeeper-instance'; sts = f'{inst}-zookeeper'
    pods = [f'{sts}-{i}' for i in range(3)]
    down = [0, 2]
    hs = f'{inst}-hs.{ns}.svc.cluster.local'
    for i in down:
        p = find(objs, 'Pod', pods[i])
        cs = p['status']['containerStatuses'][0]
        cs.update({'ready': False, 'started': False, 'restartCount': 9,
                   'state': {'waiting': {'reason': 'CrashLoopBackOff', 'message': f"back-off 5m0s restarting failed container=kubernetes-zookeeper pod={pods[i]}_{ns}({B.uuid('Pod', ns, pods[i])})"}},
                   'lastState': {'terminated': {'exitCode': 1, 'reason': 'Error', 'startedAt': ts(47, 2 + i), 'finishedAt': ts(47, 9 + i),
                                                'containerID': f"containerd://{B.hexid('cid', pods[i], 'zk-prev')}"}}})
        not_ready(p, 31, ['kubernetes-zookeeper'])
        myid = i + 1
        # A server that crashed mid-write left a torn transaction log; on start ZooKeeper
        # cannot load its database and exits.
        prev = "\n".join(stamped(47, 2 + i + k // 5, k * 11, l) for k, l in enumerate([
            f"{log_ts(47, 2 + i, 114)} [myid:{myid}] - INFO  [main:QuorumPeerConfig@174] - Reading configuration from: /conf/zoo.cfg",
            f"{log_ts(47, 2 + i, 410)} [myid:{myid}] - INFO  [main:QuorumPeerMain@151] - Starting quorum peer, myid={myid}",
            f"{log_ts(47, 3 + i, 8)} [myid:{myid}] - INFO  [main:FileTxnSnapLog@124] - zookeeper.snapshot.trust.empty : false",
            f"{log_ts(47, 3 + i, 77)} [myid:{myid}] - INFO  [main:FileSnap@85] - Reading snapshot /var/lib/zookeeper/data/version-2/snapshot.100000046",
            f"{log_ts(47, 3 + i, 502)} [myid:{myid}] - ERROR [main:QuorumPeer@1148] - Unable to load database on disk",
            "java.io.IOException: Unreasonable length = 1701604463",
            "\tat org.apache.jute.BinaryInputArchive.checkLength(BinaryInputArchive.java:166)",
            "\tat org.apache.jute.BinaryInputArchive.readBuffer(BinaryInputArchive.java:127)",
            "\tat org.apache.zookeeper.server.persistence.Util.readTxnBytes(Util.java:159)",
            "\tat org.apache.zookeeper.server.persistence.FileTxnLog$FileTxnIterator.next(FileTxnLog.java:768)",
            "\tat org.apache.zookeeper.server.persistence.FileTxnSnapLog.fastForwardFromEdits(FileTxnSnapLog.java:352)",
            "\tat org.apache.zookeeper.server.ZKDatabase.loadDataBase(ZKDatabase.java:285)",
            "\tat org.apache.zookeeper.server.quorum.QuorumPeer.loadDataBase(QuorumPeer.java:1094)",
            f"{log_ts(47, 3 + i, 509)} [myid:{myid}] - ERROR [main:QuorumPeerMain@113] - Unexpected exception, exiting abnormally",
            "java.lang.RuntimeException: Unable to run quorum server ",
            "\tat org.apache.zookeeper.server.quorum.QuorumPeer.loadDataBase(QuorumPeer.java:1149)",
            "\tat org.apache.zookeeper.server.quorum.QuorumPeer.start(QuorumPeer.java:1079)",
            "\tat org.apache.zookeeper.server.quorum.QuorumPeerMain.runFromConfig(QuorumPeerMain.java:227)",
            "Caused by: java.io.IOException: Unreasonable length = 1701604463",
            f"{log_ts(47, 3 + i, 520)} [myid:{myid}] - INFO  [main:ZKAuditProvider@42] - ZooKeeper audit is disabled.",
            f"{log_ts(47, 3 + i, 526)} [myid:{myid}] - ERROR [main:ServiceUtils@42] - Exiting JVM with code 1",
        ])) + "\n"
        logs = drop_logs(logs, pods[i], 'kubernetes-zookeeper')
        logs.append({'pod': pods[i], 'container': 'kubernetes-zookeeper', 'previous': True, 'inline': prev})
        exec_ = [h for h in exec_ if h.get('pod') != pods[i]]
        files = [f for f in files if f['pod'] != pods[i]]
        objs += kubelet_events(B, pods[i], B.NODES[i], 31, [
            ('Unhealthy', 'Liveness probe failed: ', 'Warning', 3, 'spec.containers{kubernetes-zookeeper}'),
            ('Killing', 'Container kubernetes-zookeeper failed liveness probe, will be restarted', 'Normal', 1, 'spec.containers{kubernetes-zookeeper}'),
            ('BackOff', f'Back-off restarting failed container kubernetes-zookeeper in pod {pods[i]}_{ns}({B.uuid("Pod", ns, pods[i])})', 'Warning', 41, 'spec.containers{kubernetes-zookeeper}'),
        ])
        for o in objs[-3:]:
            o['metadata']['namespace'] = ns; o['involvedObject']['namespace'] = ns
    # The survivor: its process runs and answers `ruok` (imok: the probe passes), but without a
    # quorum it serves nothing and keeps electing.
    nserve = "This ZooKeeper instance is not currently serving requests\n"
    for h in exec_:
        if h.get('pod') == pods[1] and re.search(r'echo (srvr|stat|mntr|conf) ', h['regex']) and 'whitelist' not in h['stdout']:
            h['stdout'] = nserve
    for f in files:
        if f['pod'] == pods[1] and f['path'] == '/logs/zookeeper.log':
            extra = []
            for k in range(3):
                m = 31 + k * 7
                for d in down:
                    extra.append(f"{log_ts(m, 4, 11 + d)} [myid:2] - WARN  [QuorumConnectionThread-[myid=2]-{k + 3}:QuorumCnxManager@400] - Cannot open channel to {d + 1} at election address {pods[d]}.{hs}/192.168.{d}.{60 + d * 7}:3888")
                    extra.append("java.net.ConnectException: Connection refused (Connection refused)")
                extra.append(f"{log_ts(m, 4, 90)} [myid:2] - INFO  [QuorumPeer[myid=2](plain=0.0.0.0:2181)(secure=disabled):FastLeaderElection@979] - Notification time out: 60000")
                extra.append(f"{log_ts(m, 5, 2)} [myid:2] - WARN  [NIOWorkerThread-1:NIOServerCnxn@373] - Close of session 0x0")
                extra.append("java.io.IOException: ZooKeeperServer not running")
            f['content'] += (f"{log_ts(31, 0, 12)} [myid:2] - WARN  [QuorumPeer[myid=2](plain=0.0.0.0:2181)(secure=disabled):Leader@1066] - Shutting down\n"
                             f"{log_ts(31, 0, 13)} [myid:2] - INFO  [QuorumPeer[myid=2](plain=0.0.0.0:2181)(secure=disabled):Leader@714] - Shutdown called. For the reason Not sufficient followers synced, only synced with sids: [ [2] ]\n"
                             f"{log_ts(31, 0, 410)} [myid:2] - INFO  [QuorumPeer[myid=2](plain=0.0.0.0:2181)(secure=disabled):QuorumPeer@1371] - LOOKING\n"
                             + "\n".join(extra) + "\n")
    sts_ready(objs, sts, 1)
    pdb_healthy(objs, f'{inst}-pdb', 1)
    desc = ("KUDO ZooKeeper that lost its quorum: servers 0 and 2 crash-loop (Unable to load database on disk), "
            "server 1 runs and answers ruok but srvr says it is not currently serving requests.")
    return 'zookeeper-quorum-lost', ns, objs, logs, exec_, files, desc


# ---------- 7. healthy but noisy ----------
def zk_noisy(B):
    name, ns, objs, logs, exec_, files = B.zookeeper_scenario()
    objs, logs, exec_, files = fresh((objs, logs, exec_, files))
    inst = 'zookeeper-instance'; sts = f'{inst}-zookeeper'
    pods = [f'{sts}-{i}' for i in range(3)]
    # A rolling restart eight days ago: clean exits (code 0), not faults.
    for i, p in enumerate(pods):
        cs = find(objs, 'Pod', p)['status']['containerStatuses'][0]
        cs['restartCount'] = 1 + (i == 0)
        cs['lastState'] = {'terminated': {'exitCode': 0, 'reason': 'Completed', 'startedAt': ts(0, day=19), 'finishedAt': ts(10 + i, day=19),
                                          'containerID': f"containerd://{B.hexid('cid', p, 'zk-old')}"}}
    # Warnings of a week ago that stopped: a slow start's probes, an image pull retry.
    for i, p in enumerate(pods[:2]):
        e = B.event(ns, 'Pod', p, 'Unhealthy', 'Readiness probe failed: ', typ='Warning', minute=12 + i, count=4, host=B.NODES[i], field='spec.containers{kubernetes-zookeeper}')
        for k in ('creationTimestamp',):
            e['metadata'][k] = ts(12 + i, day=19)
        e['firstTimestamp'] = ts(12 + i, day=19); e['lastTimestamp'] = ts(16 + i, day=19)
        objs.append(e)
    e = B.event(ns, 'Pod', pods[2], 'BackOff', 'Back-off pulling image "zookeeper:3.6.2"', typ='Normal', minute=11, count=2, host=B.NODES[2], field='spec.containers{kubernetes-zookeeper}')
    e['metadata']['creationTimestamp'] = e['firstTimestamp'] = ts(11, day=19); e['lastTimestamp'] = ts(12, day=19)
    objs.append(e)
    e = B.event(ns, 'Pod', pods[2], 'Failed', 'Failed to pull image "zookeeper:3.6.2": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/zookeeper:3.6.2": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/zookeeper/manifests/sha256:2d8f0f5c4d4c: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.', typ='Warning', minute=11, count=2, host=B.NODES[2], field='spec.containers{kubernetes-zookeeper}')
    e['metadata']['creationTimestamp'] = e['firstTimestamp'] = ts(11, day=19); e['lastTimestamp'] = ts(12, day=19)
    objs.append(e)
    # Completed plans: the validation plan ran after the deploy.
    i = find(objs, 'Instance', inst)
    v = i['status']['planStatus']['validation']
    v['status'] = 'COMPLETE'; v['lastUpdatedTimestamp'] = ts(14); v['uid'] = B.uuid('plan', 'validation')
    for ph in v['phases']:
        ph['status'] = 'COMPLETE'
        for s in ph['steps']:
            s['status'] = 'COMPLETE'
    # JVM pauses ZooKeeper's pause monitor reports: worth a look, not a fault.
    for f in files:
        if f['path'] == '/logs/zookeeper.log':
            my = f['content'].split('[myid:', 1)[1].split(']', 1)[0]
            f['content'] += (f"{log_ts(13, 20, 5)} [myid:{my}] - WARN  [JvmPauseMonitor(ZK-Pause-Monitor):JvmPauseMonitor$Monitor@192] - Detected pause in JVM or host machine (eg GC): pause of approximately 1342ms\n"
                             "GC pool 'G1 Young Generation' had collection(s): count=1 time=1381ms\n"
                             f"{log_ts(13, 41, 77)} [myid:{my}] - INFO  [JvmPauseMonitor(ZK-Pause-Monitor):JvmPauseMonitor$Monitor@190] - Detected pause in JVM or host machine (eg GC): pause of approximately 612ms\n"
                             "GC pool 'G1 Young Generation' had collection(s): count=1 time=640ms\n")
    desc = ("A healthy KUDO ZooKeeper ensemble with history that is not a fault: restarts with exit code 0 a week ago, "
            "Warning events that stopped, JVM pause warnings, completed plans, four-letter words outside the whitelist.")
    return 'zookeeper-noisy', ns, objs, logs, exec_, files, desc


SCENARIOS = [disk_full, image_pull, storage_class, missing_secret, node_not_ready, zk_quorum_lost, zk_noisy]


def write_all(B):
    for make in SCENARIOS:
        name, ns, objs, logs, exec_, files, desc = make(B)
        zk = name.startswith('zookeeper')
        ofiles = list(ZK_FILES if zk else CASS_FILES)
        if name == 'cassandra-node-notready':
            ofiles.remove('cluster.yaml')  # its own nodes: one of them NotReady
        B.write_scenario(name, ns, objs, logs, exec_, files, desc, ofiles, ZK_SRC if zk else CASS_SRC)
