# The applications' own files and the deeper tool outputs of the built-in scenarios, in the
# formats the applications write them: Cassandra 3.11's logback (system.log, debug.log), the JVM's
# CMS GC log, nodetool netstats/tablestats/ring; Kafka 2.5's log4j files (server.log,
# controller.log, state-change.log); ZooKeeper 3.6's log4j file. Deterministic: no clock, no
# random source but a seeded one.
import hashlib, random

def _ts(minute, second, ms):
    return f"2026-11-27 08:{minute:02d}:{second:02d},{ms:03d}"

def cassandra_logs(i, pod, ip, ips, broken):
    """system.log, debug.log and gc.log.0.current of Cassandra node i."""
    m = 4 + i * 3
    sysl = [
        f"INFO  [main] {_ts(m,5,112)} YamlConfigurationLoader.java:89 - Configuration location: file:/etc/cassandra/cassandra.yaml",
        f"INFO  [main] {_ts(m,6,301)} CassandraDaemon.java:476 - Hostname: {pod}.analytics-cassandra-svc.production.svc.cluster.local",
        f"INFO  [main] {_ts(m,6,302)} CassandraDaemon.java:483 - JVM vendor/version: OpenJDK 64-Bit Server VM/1.8.0_265",
        f"INFO  [main] {_ts(m,6,303)} CassandraDaemon.java:484 - Heap size: 2.000GiB/2.000GiB",
        f"INFO  [main] {_ts(m,9,877)} StorageService.java:660 - Cassandra version: 3.11.7",
        f"INFO  [main] {_ts(m,9,878)} StorageService.java:661 - Thrift API version: 20.1.0",
        f"INFO  [main] {_ts(m,9,879)} StorageService.java:662 - CQL supported versions: 3.4.4 (default: 3.4.4)",
        f"INFO  [main] {_ts(m,9,880)} StorageService.java:664 - Native protocol supported versions: 3/v3, 4/v4, 5/v5-beta (default: 4/v4)",
        f"INFO  [main] {_ts(m,12,14)} StorageService.java:1497 - JOINING: Finish joining ring",
        f"INFO  [main] {_ts(m,12,455)} StorageService.java:2400 - Node /{ip} state jump to NORMAL",
        f"INFO  [main] {_ts(m,13,2)} Server.java:159 - Starting listening for CQL clients on /0.0.0.0:9042 (unencrypted)...",
        f"INFO  [main] {_ts(m,13,40)} CassandraDaemon.java:556 - Startup complete",
    ]
    for k, other in enumerate(ips):
        if other != ip:
            sysl.append(f"INFO  [GossipStage:1] {_ts(m+1,2+k,118)} Gossiper.java:1105 - Node /{other} is now part of the cluster")
            sysl.append(f"INFO  [GossipStage:1] {_ts(m+1,2+k,230)} Gossiper.java:1068 - InetAddress /{other} is now UP")
    sysl.append(f"INFO  [CompactionExecutor:2] {_ts(m+6,41,5)} CompactionTask.java:255 - Compacted (8a1f01) 4 sstables to [/var/lib/cassandra/data/analytics/events-7d6f0001/md-12-big,] to level=0.  182,734 bytes to 171,202 (~93% of original) in 312ms.")
    if broken:
        sysl += [
            f"INFO  [GossipStage:1] {_ts(46,14,778)} Gossiper.java:1085 - InetAddress /{ips[1]} is now DOWN",
            f"INFO  [HANDSHAKE-/{ips[1]}] {_ts(46,20,12)} OutboundTcpConnection.java:561 - Handshaking version with /{ips[1]}",
            f"WARN  [MutationStage-1] {_ts(46,31,90)} StorageProxy.java:1444 - Hinted handoff for /{ips[1]}: 1,224 hints pending",
            f"INFO  [HintsDispatcher:3] {_ts(47,0,444)} HintsDispatchExecutor.java:282 - Deleted hint file 38a639d0-6ead-4dcf-b301-f1272e7f870c-1764232974000-1.hints",
            f"WARN  [Native-Transport-Requests-4] {_ts(48,2,301)} NoSpamLogger.java:94 - Unavailable: Cannot achieve consistency level QUORUM (2 required, 1 alive)",
        ]
    debug = []
    for k, line in enumerate(sysl):
        debug.append(line)
        if k % 3 == 1:
            debug.append(line.split(" ", 1)[0].replace("INFO", "DEBUG").replace("WARN", "DEBUG") + f" [ScheduledTasks:1] {_ts(m+1,k%60,k)} MonitoringTask.java:173 - 0 operations were slow in the last 5000 msecs")
    debug.append(f"DEBUG [GossipStage:1] {_ts(m+7,1,1)} StorageService.java:2449 - Node /{ip} state NORMAL, token [-9211270970129494930]")
    start = f"2026-11-27T08:{m:02d}:05.901+0000"
    gc = [
        "OpenJDK 64-Bit Server VM (25.265-b01) for linux-amd64 JRE (1.8.0_265-b01), built on Jul 28 2020 15:17:23 by \"openjdk\" with gcc 4.4.7 20120313 (Red Hat 4.4.7-23)",
        "Memory: 4k page, physical 16423948k(9348532k free), swap 0k(0k free)",
        "CommandLine flags: -XX:+CMSClassUnloadingEnabled -XX:CMSInitiatingOccupancyFraction=75 -XX:+HeapDumpOnOutOfMemoryError -XX:InitialHeapSize=2147483648 -XX:MaxHeapSize=2147483648 -XX:MaxNewSize=419430400 -XX:NewSize=419430400 -XX:+PrintGC -XX:+PrintGCDateStamps -XX:+PrintGCDetails -XX:+UseCMSInitiatingOccupancyOnly -XX:+UseConcMarkSweepGC -XX:+UseGCLogFileRotation -XX:+UseParNewGC",
    ]
    rnd = random.Random(900 + i)
    up = 12.0
    for k in range(24):
        up += rnd.uniform(20, 40)
        young = rnd.randint(320000, 335552)
        after = rnd.randint(9000, 30000)
        old = 400000 + k * rnd.randint(2000, 4000)
        secs = rnd.uniform(0.004, 0.03)
        gc.append(f"2026-11-27T08:{m + int(up)//60:02d}:{int(up)%60:02d}.{rnd.randint(0,999):03d}+0000: {up:.3f}: [GC (Allocation Failure) {up:.3f}: [ParNew: {young}K->{after}K(368640K), {secs:.7f} secs] {young+old}K->{after+old}K(2056192K), {secs+0.0001:.7f} secs] [Times: user=0.0{rnd.randint(1,9)} sys=0.00, real=0.0{rnd.randint(0,2)} secs]")
    return "\n".join(sysl) + "\n", "\n".join(debug) + "\n", start + ": GC log started\n" + "\n".join(gc) + "\n"

def _token(*parts):
    return int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big", signed=True)

def nodetool_ring(ips, broken, loads, owns):
    rows = []
    for k, ip in enumerate(ips):
        for t in range(256):
            rows.append((_token("ring", ip, str(t)), k))
    rows.sort()
    out = "\nDatacenter: datacenter1\n==========\n"
    out += f"{'Address':<17}{'Rack':<12}{'Status':<7}{'State':<8}{'Load':<16}{'Owns':<20}Token\n"
    out += f"{'':<80}{rows[-1][0]}\n"
    for tok, k in rows:
        st = "Down" if broken and k > 0 else "Up"
        out += f"{ips[k]:<17}{'rack1':<12}{st:<7}{'Normal':<8}{loads[k]:<16}{owns[k]:<20}{tok}\n"
    out += "\n  Warning: \"nodetool ring\" is used to output all the tokens of a node.\n  To view status related info of a node use \"nodetool status\" instead.\n\n\n"
    return out

def nodetool_netstats(i, broken):
    small = 123456 + i * 7311
    gossip = 21933 + i * 411
    out = "Mode: NORMAL\nNot sending any streams.\nRead Repair Statistics:\nAttempted: 12\nMismatch (Blocking): 0\nMismatch (Background): 0\n"
    out += f"{'Pool Name':<25}{'Active':>9}{'Pending':>10}{'Completed':>15}{'Dropped':>10}\n"
    out += f"{'Large messages':<25}{'n/a':>9}{0:>10}{14:>15}{0:>10}\n"
    out += f"{'Small messages':<25}{'n/a':>9}{(1224 if broken else 0):>10}{small:>15}{(37 if broken else 0):>10}\n"
    out += f"{'Gossip messages':<25}{'n/a':>9}{0:>10}{gossip:>15}{0:>10}\n"
    return out

def _table(name, reads, writes, sst, live, parts):
    return (f"\t\tTable: {name}\n\t\tSSTable count: {sst}\n\t\tSpace used (live): {live}\n\t\tSpace used (total): {live}\n"
            "\t\tSpace used by snapshots (total): 0\n\t\tOff heap memory used (total): 1284\n\t\tSSTable Compression Ratio: 0.412\n"
            f"\t\tNumber of partitions (estimate): {parts}\n\t\tMemtable cell count: 213\n\t\tMemtable data size: 12345\n\t\tMemtable off heap memory used: 0\n"
            f"\t\tMemtable switch count: 12\n\t\tLocal read count: {reads}\n\t\tLocal read latency: 0.112 ms\n\t\tLocal write count: {writes}\n"
            "\t\tLocal write latency: 0.019 ms\n\t\tPending flushes: 0\n\t\tPercent repaired: 100.0\n\t\tBloom filter false positives: 0\n"
            "\t\tBloom filter false ratio: 0.00000\n\t\tBloom filter space used: 1896\n\t\tBloom filter off heap memory used: 1864\n"
            "\t\tIndex summary off heap memory used: 412\n\t\tCompression metadata off heap memory used: 96\n\t\tCompacted partition minimum bytes: 61\n"
            "\t\tCompacted partition maximum bytes: 1331\n\t\tCompacted partition mean bytes: 287\n"
            "\t\tAverage live cells per slice (last five minutes): 3.2\n\t\tMaximum live cells per slice (last five minutes): 12\n"
            "\t\tAverage tombstones per slice (last five minutes): 1.0\n\t\tMaximum tombstones per slice (last five minutes): 1\n\t\tDropped Mutations: 0\n\n")

def nodetool_tablestats(i):
    ks = [("analytics", [("events", 8123 + i * 97, 65123 + i * 311, 4, 182734, 1523), ("sessions", 4724 + i * 13, 33090 + i * 77, 2, 91022, 811)]),
          ("system_auth", [("roles", 412, 3, 1, 5012, 1), ("role_permissions", 0, 0, 0, 0, 0)])]
    out = f"Total number of tables: {sum(len(t) for _, t in ks)}\n----------------\n"
    for name, tables in ks:
        r = sum(t[1] for t in tables); w = sum(t[2] for t in tables)
        out += f"Keyspace : {name}\n\tRead Count: {r}\n\tRead Latency: 0.1{3+i} ms\n\tWrite Count: {w}\n\tWrite Latency: 0.02{i} ms\n\tPending Flushes: 0\n"
        out += "".join(_table(*t) for t in tables)
        out += "----------------\n"
    return out

def kafka_logs(i, brokers, zk_hosts):
    """server.log, controller.log and state-change.log of broker i (log4j, kafka 2.5)."""
    m = 9 + i
    ts = lambda s, ms: f"[2026-11-27 08:{m + s // 60:02d}:{s % 60:02d},{ms:03d}]"
    server = [
        f"{ts(1,12)} INFO Registered kafka:type=kafka.Log4jController MBean (kafka.utils.Log4jControllerRegistration$)",
        f"{ts(2,101)} INFO starting (kafka.server.KafkaServer)",
        f"{ts(2,102)} INFO Connecting to zookeeper on {zk_hosts}/kafka (kafka.server.KafkaServer)",
        f"{ts(2,340)} INFO [ZooKeeperClient Kafka server] Initializing a new session to {zk_hosts}. (kafka.zookeeper.ZooKeeperClient)",
        f"{ts(3,12)} INFO [ZooKeeperClient Kafka server] Connected. (kafka.zookeeper.ZooKeeperClient)",
        f"{ts(3,511)} INFO Cluster ID = 4kVq3Ls7QzOQm1nZB1a0Yw (kafka.server.KafkaServer)",
        f"{ts(4,2)} INFO [Log partition=orders-{i}, dir=/var/lib/kafka/data] Loading producer state till offset 0 with message format version 2 (kafka.log.Log)",
        f"{ts(5,640)} INFO [KafkaServer id={i}] started (kafka.server.KafkaServer)",
        f"{ts(9,1)} INFO [GroupCoordinator {i}]: Preparing to rebalance group order-processor in state PreparingRebalance with old generation 0 (__consumer_offsets-{12 + i}) (reason: Adding new member) (kafka.coordinator.group.GroupCoordinator)",
        f"{ts(12,333)} INFO [GroupMetadataManager brokerId={i}] Removed 0 expired offsets in 1 milliseconds. (kafka.coordinator.group.GroupMetadataManager)",
    ]
    controller = [f"{ts(5,700)} DEBUG [Controller id={i}] Broker 1 has been elected as the controller, so stopping the election process. (kafka.controller.KafkaController)"]
    if i == 1:
        controller = [
            f"{ts(5,690)} INFO [Controller id=1] 1 successfully elected as the controller. Epoch incremented to 1 and epoch zk version is now 1 (kafka.controller.KafkaController)",
            f"{ts(5,702)} INFO [Controller id=1] Registering handlers (kafka.controller.KafkaController)",
            f"{ts(5,880)} INFO [Controller id=1] Initialized broker epochs cache: Map(0 -> 27, 1 -> 29, 2 -> 31) (kafka.controller.KafkaController)",
            f"{ts(6,15)} INFO [Controller id=1] Currently active brokers in the cluster: Set(0, 1, 2) (kafka.controller.KafkaController)",
            f"{ts(6,16)} INFO [Controller id=1] Currently shutting brokers in the cluster: Set() (kafka.controller.KafkaController)",
            f"{ts(6,102)} INFO [Controller id=1] Ready to serve as the new controller with epoch 1 (kafka.controller.KafkaController)",
        ]
    state = [f"{ts(6,200 + p)} TRACE [Broker id={i}] Handling LeaderAndIsr request correlationId 1 from controller 1 epoch 1 starting the become-{'leader' if p % 3 == i else 'follower'} transition for partition orders-{p} (state.change.logger)" for p in range(6)]
    return "\n".join(server) + "\n", "\n".join(controller) + "\n", "\n".join(state) + "\n"

def zookeeper_log(i, mode, pods, hs):
    m = 2 + i
    t = lambda s, ms: f"2026-11-27 08:{m:02d}:{s:02d},{ms:03d}"
    me = i + 1
    lines = [
        f"{t(1,20)} [myid:{me}] - INFO  [main:QuorumPeerConfig@173] - Reading configuration from: /conf/zoo.cfg",
        f"{t(1,90)} [myid:{me}] - INFO  [main:QuorumPeerMain@151] - Starting quorum peer, myid={me}",
        f"{t(1,301)} [myid:{me}] - INFO  [main:NIOServerCnxnFactory@674] - binding to port 0.0.0.0/0.0.0.0:2181",
        f"{t(2,12)} [myid:{me}] - INFO  [QuorumPeer[myid={me}](plain=0.0.0.0:2181)(secure=disabled):QuorumPeer@1371] - LOOKING",
        f"{t(2,431)} [myid:{me}] - INFO  [QuorumPeer[myid={me}](plain=0.0.0.0:2181)(secure=disabled):FastLeaderElection@944] - New election. My id = {me}, proposed zxid=0x0",
        f"{t(4,7)} [myid:{me}] - INFO  [QuorumPeer[myid={me}](plain=0.0.0.0:2181)(secure=disabled):QuorumPeer@{1437 if mode == 'leader' else 1425}] - {'LEADING' if mode == 'leader' else 'FOLLOWING'}",
        f"{t(4,9)} [myid:{me}] - INFO  [QuorumPeer[myid={me}](plain=0.0.0.0:2181)(secure=disabled):{'Leader' if mode == 'leader' else 'Follower'}@{75 if mode == 'leader' else 69}] - {'LEADING - LEADER ELECTION TOOK - 1995 MS' if mode == 'leader' else 'FOLLOWING - LEADER ELECTION TOOK - 1992 MS'}",
        f"{t(5,110)} [myid:{me}] - INFO  [main:JettyAdminServer@178] - Started AdminServer on address 0.0.0.0, port 8080 and command URL /commands",
        f"{t(9,2)} [myid:{me}] - WARN  [NIOWorkerThread-1:NIOServerCnxn@373] - Close of session 0x0 java.io.IOException: ZooKeeperServer not running",
        f"{t(14,540)} [myid:{me}] - INFO  [NIOWorkerThread-2:FourLetterCommands@234] - The list of known four letter word commands is : [{{1936881266=srvr, 1937006964=stat, 2003003491=wchc, 1685417328=dump, 1668445044=crst, 1936880500=srst, 1701738089=envi, 1668247142=conf, -720899=telnet close, 1751217000=hash, 2003003507=wchs, 2003003504=wchp, 1684632179=dirs, 1668247155=cons, 1835955314=mntr, 1769173615=isro, 1920298859=ruok, 1735683435=gtmk, 1937010027=stmk}}]",
        f"{t(14,541)} [myid:{me}] - INFO  [NIOWorkerThread-2:FourLetterCommands@235] - The list of enabled four letter word commands is : [[srvr, ruok]]",
    ]
    return "\n".join(lines) + "\n"

def _qty(v, cpu):
    v = str(v)
    if cpu:
        return int(v[:-1]) if v.endswith('m') else int(float(v) * 1000)
    units = {'Ki': 1 << 10, 'Mi': 1 << 20, 'Gi': 1 << 30, 'Ti': 1 << 40}
    for u, f in units.items():
        if v.endswith(u):
            return int(float(v[:-2]) * f)
    return int(v)

def namespace_policy(ns, objs, quota=True, limits=True, netpol=True, t='2026-11-27T07:55:00Z'):
    """The namespace's ResourceQuota (used = the requests of its non-terminal pods, as the quota
    controller counts them), LimitRange and a NetworkPolicy, as a platform team sets them up."""
    out = []
    pods = [o for o in objs if o['kind'] == 'Pod' and o['metadata'].get('namespace', ns) == ns and o.get('status', {}).get('phase') not in ('Succeeded', 'Failed')]
    def used(field, res, cpu):
        return sum(_qty(c.get('resources', {}).get(field, {}).get(res, 0), cpu) for p in pods for c in p['spec']['containers'])
    if quota:
        mem = used('requests', 'memory', False); cpu = used('requests', 'cpu', True)
        lmem = used('limits', 'memory', False); lcpu = used('limits', 'cpu', True)
        out.append({'apiVersion': 'v1', 'kind': 'ResourceQuota', 'metadata': {'name': f'{ns}-quota', 'namespace': ns, 'creationTimestamp': t},
                    'spec': {'hard': {'requests.cpu': '24', 'requests.memory': '96Gi', 'limits.cpu': '48', 'limits.memory': '128Gi', 'pods': '40', 'persistentvolumeclaims': '20'}},
                    'status': {'hard': {'requests.cpu': '24', 'requests.memory': '96Gi', 'limits.cpu': '48', 'limits.memory': '128Gi', 'pods': '40', 'persistentvolumeclaims': '20'},
                               'used': {'requests.cpu': f'{cpu}m', 'requests.memory': f'{mem // (1 << 20)}Mi', 'limits.cpu': f'{lcpu}m', 'limits.memory': f'{lmem // (1 << 20)}Mi',
                                        'pods': str(len(pods)), 'persistentvolumeclaims': str(len([o for o in objs if o['kind'] == 'PersistentVolumeClaim' and o['metadata'].get('namespace', ns) == ns]))}}})
    if limits:
        out.append({'apiVersion': 'v1', 'kind': 'LimitRange', 'metadata': {'name': f'{ns}-limits', 'namespace': ns, 'creationTimestamp': t},
                    'spec': {'limits': [{'type': 'Container', 'default': {'cpu': '1', 'memory': '1Gi'}, 'defaultRequest': {'cpu': '250m', 'memory': '256Mi'}, 'max': {'memory': '32Gi'}},
                                        {'type': 'PersistentVolumeClaim', 'min': {'storage': '1Gi'}, 'max': {'storage': '500Gi'}}]}})
    if netpol:
        out.append({'apiVersion': 'networking.k8s.io/v1', 'kind': 'NetworkPolicy', 'metadata': {'name': 'allow-same-namespace', 'namespace': ns, 'creationTimestamp': t},
                    'spec': {'podSelector': {}, 'policyTypes': ['Ingress'], 'ingress': [{'from': [{'podSelector': {}}, {'namespaceSelector': {'matchLabels': {'kubernetes.io/metadata.name': 'monitoring'}}}]}]}})
    return out
