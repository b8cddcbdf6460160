# Regenerates the built-in scenarios (src/sim/scenarios/*.yaml) from the KUDO fixtures:
#   KUDO_FIXTURES=/path/to/fixtures python3 src/sim/scenarios/build/build.py
# The YAML it writes is committed and is what the binary embeds; edit this script, not the
# YAML, when changing a built-in scenario. Needs Python 3 with PyYAML.
import yaml, re, os, json, hashlib, sys
sys.path.insert(0,os.path.dirname(os.path.abspath(__file__)))
from tmpl import render
import appfiles
FX=os.environ.get('KUDO_FIXTURES','/work/shared/fixtures')
OUT=os.path.join(os.path.dirname(os.path.abspath(__file__)),'..')

class D(yaml.SafeDumper):
    def ignore_aliases(self, data): return True
def str_rep(d, s):
    if '\n' in s:
        return d.represent_scalar('tag:yaml.org,2002:str', s, style='|')
    return d.represent_scalar('tag:yaml.org,2002:str', s)
D.add_representer(str, str_rep)
def dump_docs(objs): return yaml.dump_all(objs, Dumper=D, sort_keys=False, width=1000, default_flow_style=False)
def dump(obj): return yaml.dump(obj, Dumper=D, sort_keys=False, width=1000, default_flow_style=False)
def write(name, header, text):
    # Trailing spaces inside block scalars make PyYAML fall back to quoted style; fine either way.
    with open(os.path.join(OUT,name),'w') as f:
        f.write(header.rstrip()+'\n'+text)

def hexid(*parts, n=64):
    return hashlib.sha256('/'.join(parts).encode()).hexdigest()[:n]
def uuid(*parts):
    h=hexid(*parts,n=32); return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

T0='2026-11-27T08:00:00Z'
def ts(minutes, seconds=0):
    h=8+minutes//60; m=minutes%60
    return f"2026-11-27T{h:02d}:{m:02d}:{seconds:02d}Z"

# ---------- KUDO packages -> Operator + OperatorVersion ----------
def package(op, ns):
    o=yaml.safe_load(open(f'{FX}/kudo-operators/{op}/operator.yaml'))
    p=yaml.safe_load(open(f'{FX}/kudo-operators/{op}/params.yaml'))
    tdir=f'{FX}/kudo-operators/{op}/templates'
    templates={f: open(os.path.join(tdir,f)).read() for f in sorted(os.listdir(tdir))}
    params=[]
    for x in p['parameters']:
        q={'name':x['name']}
        for k in ['displayName','description','hint','type','immutable','advanced','group','enum','required','trigger']:
            if k in x: q[k]=x[k]
        if 'default' in x:
            d=x['default']
            q['default']= d if isinstance(d,str) or d is None else (json.dumps(d) if not isinstance(d,(int,float,bool)) else str(d).lower() if isinstance(d,bool) else str(d))
        if 'required' not in q: q['required']= 'default' not in x
        if 'trigger' not in q: q['trigger']='deploy'
        params.append(q)
    ovname=f"{o['name']}-{o['appVersion']}-{o['operatorVersion']}"
    operator={'apiVersion':'kudo.dev/v1beta1','kind':'Operator',
        'metadata':{'name':o['name'],'namespace':ns,'creationTimestamp':ts(0)},
        'spec':{'description':f"KUDO {o['name']} operator",'kudoVersion':str(o['kudoVersion']),'kubernetesVersion':str(o['kubernetesVersion']),
                'maintainers':o.get('maintainers',[]),'url':o.get('url','')},
        'status':{}}
    ov={'apiVersion':'kudo.dev/v1beta1','kind':'OperatorVersion',
        'metadata':{'name':ovname,'namespace':ns,'creationTimestamp':ts(0),
                    'ownerReferences':[{'apiVersion':'kudo.dev/v1beta1','kind':'Operator','name':o['name'],'controller':True,'blockOwnerDeletion':True}]},
        'spec':{'operator':{'kind':'Operator','name':o['name']},'version':str(o['operatorVersion']),'appVersion':str(o['appVersion']),
                'parameters':params,'tasks':o['tasks'],'plans':o['plans'],'templates':templates},
        'status':{}}
    defaults={x['name']:x.get('default') for x in params}
    return operator, ov, o, defaults

def plan_status(plans, overrides=None, never=()):
    """planStatus for each plan: deploy COMPLETE (or overridden), others NEVER_RUN."""
    overrides=overrides or {}
    st={}
    for pname,pl in plans.items():
        ran = pname not in never and pname=='deploy'
        status = 'COMPLETE' if ran else 'NEVER_RUN'
        phases=[]
        for ph in pl['phases']:
            steps=[]
            for s in ph['steps']:
                key=f"{pname}.{ph['name']}.{s['name']}"
                ss={'name':s['name'],'status':status}
                if key in overrides: ss.update(overrides[key])
                steps.append(ss)
            pstat=status
            if any(s['status']=='FATAL_ERROR' for s in steps): pstat='FATAL_ERROR'
            phases.append({'name':ph['name'],'status':pstat,'steps':steps})
        plst={'name':pname,'status':status,'phases':phases}
        if any(p['status']=='FATAL_ERROR' for p in phases): plst['status']='FATAL_ERROR'
        if ran:
            plst['lastUpdatedTimestamp']=ts(12); plst['uid']=uuid('plan',pname)
        st[pname]=plst
    return st

def instance(name, ns, op, ov, params, plans, overrides=None, owner=None, active='deploy'):
    ps=plan_status(plans, overrides)
    agg=ps['deploy']['status']
    inst={'apiVersion':'kudo.dev/v1beta1','kind':'Instance',
        'metadata':{'name':name,'namespace':ns,'creationTimestamp':ts(1),
            'labels':{'kudo.dev/operator':op},
            'annotations':{'kudo.dev/last-applied-instance-state':json.dumps({'operatorVersion':{'name':ov},'parameters':params},sort_keys=True)}},
        'spec':{'operatorVersion':{'name':ov},'parameters':params},
        'status':{'planStatus':ps,'aggregatedStatus':{'status':agg,'activePlanName':active}}}
    if owner:
        inst['metadata']['ownerReferences']=[{'apiVersion':'kudo.dev/v1beta1','kind':'Instance','name':owner,'controller':True,'blockOwnerDeletion':True}]
    return inst

def kudo_meta(inst, op, ver, plan='deploy', phase=None, step=None):
    labels={'heritage':'kudo','kudo.dev/instance':inst,'kudo.dev/operator':op}
    ann={'kudo.dev/operator-version':ver,'kudo.dev/plan':plan}
    if phase: ann['kudo.dev/phase']=phase
    if step: ann['kudo.dev/step']=step
    return labels, ann

NODES=['ip-10-0-1-21.ec2.internal','ip-10-0-2-37.ec2.internal','ip-10-0-3-54.ec2.internal']
NODE_IPS=['10.0.1.21','10.0.2.37','10.0.3.54']

def event(ns, obj_kind, obj_name, reason, message, typ='Normal', minute=2, count=1, component='kubelet', host=None, field=None, api='v1'):
    name=f"{obj_name}.{hexid(ns,obj_kind,obj_name,reason,message,n=16)}"
    e={'apiVersion':'v1','kind':'Event','metadata':{'name':name,'namespace':ns,'creationTimestamp':ts(minute)},
       'involvedObject':{'apiVersion':api,'kind':obj_kind,'name':obj_name,'namespace':ns},
       'reason':reason,'message':message,'type':typ,'count':count,
       'firstTimestamp':ts(minute),'lastTimestamp':ts(minute if count==1 else minute+count),
       'source':{'component':component}}
    if host: e['source']['host']=host
    if field: e['involvedObject']['fieldPath']=field
    e['reportingComponent']=component; e['reportingInstance']=host or ''
    return e

def container_status(name, image, started_min, ready=True, restarts=0, state=None, last=None, cid_seed=''):
    cs={'name':name,'image':image,'imageID':f"docker.io/{image.split(':')[0]}@sha256:{hexid('img',image)}",
        'containerID':f"containerd://{hexid('cid',cid_seed,name)}",'ready':ready,'restartCount':restarts,'started':ready,
        'state':state or {'running':{'startedAt':ts(started_min)}},'lastState':last or {}}
    return cs

def pod_conditions(ready, scheduled_min, ready_min, scheduled=True):
    if not scheduled:
        return [{'type':'PodScheduled','status':'False','lastProbeTime':None,'lastTransitionTime':ts(scheduled_min),'reason':'Unschedulable','message':'0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.'}]
    r='True' if ready else 'False'
    c=[{'type':'PodReadyToStartContainers','status':'True','lastProbeTime':None,'lastTransitionTime':ts(scheduled_min)},
       {'type':'Initialized','status':'True','lastProbeTime':None,'lastTransitionTime':ts(scheduled_min+1)},
       {'type':'Ready','status':r,'lastProbeTime':None,'lastTransitionTime':ts(ready_min)},
       {'type':'ContainersReady','status':r,'lastProbeTime':None,'lastTransitionTime':ts(ready_min)},
       {'type':'PodScheduled','status':'True','lastProbeTime':None,'lastTransitionTime':ts(scheduled_min)}]
    if not ready:
        for x in c[2:4]:
            x['reason']='ContainersNotReady'; x['message']='containers with unready status: [cassandra]'
    return c

# ---------- cluster ----------
def cluster_objects(namespaces):
    objs=[]
    for i,(n,ip) in enumerate(zip(NODES,NODE_IPS)):
        zone=['us-east-1a','us-east-1b','us-east-1c'][i]
        objs.append({'apiVersion':'v1','kind':'Node','metadata':{'name':n,'creationTimestamp':'2026-11-20T10:00:00Z',
            'labels':{'beta.kubernetes.io/arch':'amd64','beta.kubernetes.io/os':'linux','kubernetes.io/arch':'amd64','kubernetes.io/hostname':n,
                      'kubernetes.io/os':'linux','node.kubernetes.io/instance-type':'m5.xlarge','topology.kubernetes.io/region':'us-east-1','topology.kubernetes.io/zone':zone},
            'annotations':{'node.alpha.kubernetes.io/ttl':'0','volumes.kubernetes.io/controller-managed-attach-detach':'true'}},
          'spec':{'podCIDR':f'192.168.{i}.0/24','providerID':f'aws:///{zone}/i-0{hexid(n,n=16)}'},
          'status':{'capacity':{'cpu':'4','ephemeral-storage':'104845292Ki','hugepages-1Gi':'0','hugepages-2Mi':'0','memory':'16101952Ki','pods':'110'},
                    'allocatable':{'cpu':'3920m','ephemeral-storage':'95551679541','hugepages-1Gi':'0','hugepages-2Mi':'0','memory':'15180352Ki','pods':'110'},
                    'conditions':[
                        {'type':'MemoryPressure','status':'False','lastHeartbeatTime':ts(14),'lastTransitionTime':'2026-11-20T10:00:00Z','reason':'KubeletHasSufficientMemory','message':'kubelet has sufficient memory available'},
                        {'type':'DiskPressure','status':'False','lastHeartbeatTime':ts(14),'lastTransitionTime':'2026-11-20T10:00:00Z','reason':'KubeletHasNoDiskPressure','message':'kubelet has no disk pressure'},
                        {'type':'PIDPressure','status':'False','lastHeartbeatTime':ts(14),'lastTransitionTime':'2026-11-20T10:00:00Z','reason':'KubeletHasSufficientPID','message':'kubelet has sufficient PID available'},
                        {'type':'Ready','status':'True','lastHeartbeatTime':ts(14),'lastTransitionTime':'2026-11-20T10:01:00Z','reason':'KubeletReady','message':'kubelet is posting ready status'}],
                    'addresses':[{'type':'InternalIP','address':ip},{'type':'Hostname','address':n},{'type':'InternalDNS','address':n}],
                    'daemonEndpoints':{'kubeletEndpoint':{'Port':10250}},
                    'nodeInfo':{'architecture':'amd64','bootID':uuid('boot',n),'containerRuntimeVersion':'containerd://1.7.22','kernelVersion':'5.10.226-214.880.amzn2.x86_64',
                                'kubeProxyVersion':'v1.32.4','kubeletVersion':'v1.32.4','machineID':hexid('m',n,n=32),'operatingSystem':'linux','osImage':'Amazon Linux 2','systemUUID':uuid('sys',n)}}})
    objs.append({'apiVersion':'storage.k8s.io/v1','kind':'StorageClass','metadata':{'name':'gp2','annotations':{'storageclass.kubernetes.io/is-default-class':'true'},'creationTimestamp':'2026-11-20T10:00:00Z'},
                 'provisioner':'kubernetes.io/aws-ebs','parameters':{'fsType':'ext4','type':'gp2'},'reclaimPolicy':'Delete','volumeBindingMode':'WaitForFirstConsumer','allowVolumeExpansion':True})
    objs+=kube_system_pods()
    for ns in ['default','kube-system']+namespaces:
        objs.append({'apiVersion':'v1','kind':'Namespace','metadata':{'name':ns,'labels':{'kubernetes.io/metadata.name':ns},'creationTimestamp':'2026-11-20T10:00:00Z'},'spec':{'finalizers':['kubernetes']},'status':{'phase':'Active'}})
    return objs

# What every node of an EKS cluster runs besides the workloads: the VPC CNI, kube-proxy and the
# EBS CSI node plugin as DaemonSets, and two CoreDNS replicas; requests and limits are the EKS
# add-ons' defaults. They take their share of each node's allocatable, as on a real cluster.
KUBE_SYSTEM_DAEMONS=[
    ('aws-node','602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1',[('aws-node',{'cpu':'25m'},{}),('aws-eks-nodeagent',{'cpu':'25m'},{})]),
    ('kube-proxy','602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.32.0-minimal-eksbuild.2',[('kube-proxy',{'cpu':'100m'},{})]),
    ('ebs-csi-node','602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/aws-ebs-csi-driver:v1.38.1',[(c,{'cpu':'10m','memory':'40Mi'},{'memory':'256Mi'}) for c in ('ebs-plugin','node-driver-registrar','liveness-probe')]),
]
def kube_system_pods():
    objs=[]; UP='2026-11-20T10:02:00Z'; READY='2026-11-20T10:03:00Z'  # just after the nodes joined
    def pod(name, owner_kind, owner, image, containers, node, ip, host_network):
        return {'apiVersion':'v1','kind':'Pod','metadata':{'name':name,'namespace':'kube-system','creationTimestamp':UP,'labels':{'k8s-app':'kube-dns' if owner_kind=='ReplicaSet' else owner},
                    'ownerReferences':[{'apiVersion':'apps/v1','kind':owner_kind,'name':owner,'uid':uuid(owner_kind,owner),'controller':True,'blockOwnerDeletion':True}]},
                'spec':{'nodeName':node,'hostNetwork':host_network,'priorityClassName':'system-node-critical' if owner_kind=='DaemonSet' else 'system-cluster-critical',
                        'containers':[{'name':c,'image':image,'resources':dict({'requests':r} if r else {},**({'limits':l} if l else {}))} for c,r,l in containers]},
                'status':{'phase':'Running','hostIP':NODE_IPS[NODES.index(node)],'podIP':ip,'podIPs':[{'ip':ip}],'startTime':UP,'qosClass':'Burstable',
                          'conditions':[dict(c,lastTransitionTime=READY) for c in pod_conditions(True,0,0)],
                          'containerStatuses':[dict(container_status(c,image,0,cid_seed=name),state={'running':{'startedAt':READY}}) for c,_,_ in containers]}}
    for i,node in enumerate(NODES):
        for ds,image,containers in KUBE_SYSTEM_DAEMONS:
            name=f"{ds}-{hexid(ds,node,n=5)}"
            host=ds in ('aws-node','kube-proxy')
            objs.append(pod(name,'DaemonSet',ds,image,containers,node,NODE_IPS[i] if host else f'192.168.{i}.{10+len(objs)}',host))
    dns_image='602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.11.4-eksbuild.2'; dns=[('coredns',{'cpu':'100m','memory':'70Mi'},{'memory':'170Mi'})]
    rs=f"coredns-{hexid('rs',n=10)}"
    for i,node in enumerate(NODES[:2]):
        objs.append(pod(f"{rs}-{hexid('coredns',str(i),n=5)}",'ReplicaSet',rs,dns_image,dns,node,f'192.168.{i}.{40+i}',False))
    # Their owners, so `describe pod` and the owner checks find them.
    def owner(kind, name, n, containers, image, owner_ref=None):
        app='kube-dns' if name.startswith('coredns') else name
        tmpl={'metadata':{'labels':{'k8s-app':app}},'spec':{'containers':[{'name':c,'image':image,'resources':dict({'requests':r} if r else {},**({'limits':l} if l else {}))} for c,r,l in containers]}}
        meta={'name':name,'namespace':'kube-system','uid':uuid(kind,name),'creationTimestamp':'2026-11-20T10:00:00Z','labels':{'k8s-app':app}}
        if owner_ref: meta['ownerReferences']=[owner_ref]
        spec={'selector':{'matchLabels':{'k8s-app':app}},'template':tmpl}
        if kind=='DaemonSet':
            status={'currentNumberScheduled':n,'desiredNumberScheduled':n,'numberAvailable':n,'numberMisscheduled':0,'numberReady':n,'updatedNumberScheduled':n,'observedGeneration':1}
        else:
            spec['replicas']=n; status={'replicas':n,'readyReplicas':n,'availableReplicas':n,'observedGeneration':1}
            if kind=='Deployment': status['updatedReplicas']=n
        return {'apiVersion':'apps/v1','kind':kind,'metadata':meta,'spec':spec,'status':status}
    for ds,image,containers in KUBE_SYSTEM_DAEMONS:
        objs.append(owner('DaemonSet',ds,len(NODES),containers,image))
    objs.append(owner('Deployment','coredns',2,dns,dns_image))
    objs.append(owner('ReplicaSet',rs,2,dns,dns_image,{'apiVersion':'apps/v1','kind':'Deployment','name':'coredns','uid':uuid('Deployment','coredns'),'controller':True,'blockOwnerDeletion':True}))
    return objs

def kube_system_logs():
    """A short log for every container of kube_system_pods(), in each program's own format."""
    lines={
        'aws-node':['{time} [INFO]	Checking for IPAM connectivity ...','{time} [INFO]	Successfully Reconciled ENI/IP pool'],
        'aws-eks-nodeagent':['{"level":"info","ts":"{time}","logger":"controllers.policyEndpoints","caller":"runtime/asm_amd64.s:{int}","msg":"Reconciling policy endpoints"}'],
        'kube-proxy':['{time} shared_informer.go:320] Caches are synced for service config','{time} proxier.go:{int}] "SyncProxyRules complete" elapsed="{int}ms"'],
        'ebs-plugin':['{time} node.go:{int}] "NodeGetCapabilities: called" args=""'],
        'node-driver-registrar':['{time} main.go:{int}] Received GetInfo call: &InfoRequest{}'],
        'liveness-probe':['{time} main.go:{int}] "Sending probe request to CSI driver" driver="ebs.csi.aws.com"'],
        'coredns':['[INFO] 192.168.{int}.{int}:{int} - {int} "A IN kubernetes.default.svc.cluster.local. udp 54 false 512" NOERROR qr,aa,rd 106 0.000{int}s'],
    }
    out=[]
    for p in kube_system_pods():
        if p['kind']!='Pod': continue
        for c in p['spec']['containers']:
            out.append({'namespace':'kube-system','pod':p['metadata']['name'],'container':c['name'],
                        'generate':{'lines':20,'seed':int(hexid(p['metadata']['name'],c['name'],n=6),16)%1000,'intervalMs':60000,'templates':lines[c['name']]}})
    return out

def kudo_system():
    ns='kudo-system'; img='kudobuilder/controller:v0.17.4'
    labels={'app':'kudo-manager','control-plane':'controller-manager'}
    objs=[]
    objs.append({'apiVersion':'v1','kind':'Namespace','metadata':{'name':ns,'labels':{'app':'kudo-manager','kubernetes.io/metadata.name':ns},'creationTimestamp':'2026-11-20T10:05:00Z'},'spec':{'finalizers':['kubernetes']},'status':{'phase':'Active'}})
    objs.append({'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'kudo-manager','namespace':ns,'labels':{'app':'kudo-manager'}}})
    objs.append({'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default','namespace':ns}})
    objs.append({'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding','metadata':{'name':'kudo-manager-rolebinding','labels':{'app':'kudo-manager'}},
                 'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'cluster-admin'},'subjects':[{'kind':'ServiceAccount','name':'kudo-manager','namespace':ns}]})
    objs.append({'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole','metadata':{'name':'cluster-admin','labels':{'kubernetes.io/bootstrapping':'rbac-defaults'}},
                 'rules':[{'apiGroups':['*'],'resources':['*'],'verbs':['*']},{'nonResourceURLs':['*'],'verbs':['*']}]})
    objs.append({'apiVersion':'v1','kind':'Service','metadata':{'name':'kudo-controller-manager-service','namespace':ns,'labels':labels,'creationTimestamp':'2026-11-20T10:05:00Z'},
                 'spec':{'type':'ClusterIP','clusterIP':'10.100.12.7','clusterIPs':['10.100.12.7'],'ports':[{'name':'kudo','port':443,'protocol':'TCP','targetPort':443}],'selector':labels,'sessionAffinity':'None'},'status':{'loadBalancer':{}}})
    sts={'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'kudo-controller-manager','namespace':ns,'labels':labels,'generation':1,'creationTimestamp':'2026-11-20T10:05:00Z'},
         'spec':{'replicas':1,'selector':{'matchLabels':labels},'serviceName':'kudo-controller-manager-service','podManagementPolicy':'OrderedReady',
                 'updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'partition':0}},'revisionHistoryLimit':10,
                 'template':{'metadata':{'labels':labels},'spec':{'serviceAccountName':'kudo-manager','terminationGracePeriodSeconds':10,
                     'containers':[{'name':'manager','image':img,'imagePullPolicy':'Always','command':['/root/manager'],
                        'env':[{'name':'POD_NAMESPACE','valueFrom':{'fieldRef':{'fieldPath':'metadata.namespace'}}},{'name':'SECRET_NAME','value':'kudo-webhook-server-secret'},{'name':'ENABLE_WEBHOOKS','value':'true'}],
                        'ports':[{'containerPort':443,'name':'webhook-server','protocol':'TCP'}],
                        'resources':{'requests':{'cpu':'100m','memory':'50Mi'}},
                        'volumeMounts':[{'mountPath':'/tmp/cert','name':'cert','readOnly':True}]}],
                     'volumes':[{'name':'cert','secret':{'defaultMode':420,'secretName':'kudo-webhook-server-secret'}}]}}},
         'status':{'replicas':1,'readyReplicas':1,'currentReplicas':1,'updatedReplicas':1,'availableReplicas':1,'currentRevision':'kudo-controller-manager-7c9f5d4b8','updateRevision':'kudo-controller-manager-7c9f5d4b8','observedGeneration':1,'collisionCount':0}}
    objs.append(sts)
    pod={'apiVersion':'v1','kind':'Pod','metadata':{'name':'kudo-controller-manager-0','namespace':ns,'creationTimestamp':'2026-11-20T10:05:10Z',
            'labels':dict(labels,**{'controller-revision-hash':'kudo-controller-manager-7c9f5d4b8','statefulset.kubernetes.io/pod-name':'kudo-controller-manager-0'}),
            'ownerReferences':[{'apiVersion':'apps/v1','kind':'StatefulSet','name':'kudo-controller-manager','controller':True,'blockOwnerDeletion':True}]},
         'spec':dict(sts['spec']['template']['spec'],nodeName=NODES[0],hostname='kudo-controller-manager-0',subdomain='kudo-controller-manager-service',restartPolicy='Always',dnsPolicy='ClusterFirst',schedulerName='default-scheduler'),
         'status':{'phase':'Running','hostIP':NODE_IPS[0],'hostIPs':[{'ip':NODE_IPS[0]}],'podIP':'192.168.0.15','podIPs':[{'ip':'192.168.0.15'}],'startTime':'2026-11-20T10:05:10Z','qosClass':'Burstable',
                   'conditions':pod_conditions(True,0,1),
                   'containerStatuses':[container_status('manager',img,0,cid_seed='kudo-controller-manager-0')]}}
    pod['status']['conditions']=[dict(c,lastTransitionTime='2026-11-20T10:05:12Z') for c in pod['status']['conditions']]
    pod['status']['containerStatuses'][0]['state']={'running':{'startedAt':'2026-11-20T10:05:14Z'}}
    objs.append(pod)
    objs.append({'apiVersion':'v1','kind':'Secret','metadata':{'name':'kudo-webhook-server-secret','namespace':ns},'type':'kubernetes.io/tls',
                 'data':{'tls.crt':'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMuLi4gKHNpbXVsYXRlZCkKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=','tls.key':'LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmt1ZG8tZGlhZy1wbGFudGVkLXdlYmhvb2sta2V5Ci0tLS0tRU5EIFBSSVZBVEUgS0VZLS0tLS0K'}})
    objs.append(event(ns,'Pod','kudo-controller-manager-0','Started','Started container manager',minute=0,host=NODES[0],field='spec.containers{manager}'))
    # The instance admission webhook `kubectl kudo init` registers.
    objs.append({'apiVersion':'admissionregistration.k8s.io/v1','kind':'MutatingWebhookConfiguration',
                 'metadata':{'name':'kudo-manager-instance-admission-webhook-config','creationTimestamp':'2026-11-20T10:05:00Z'},
                 'webhooks':[{'name':'instance-admission.kudo.dev','admissionReviewVersions':['v1','v1beta1'],'sideEffects':'None',
                              'failurePolicy':'Fail','matchPolicy':'Equivalent',
                              'clientConfig':{'service':{'name':'kudo-controller-manager-service','namespace':ns,'path':'/admit-kudo-dev-v1beta1-instance'}},
                              'rules':[{'apiGroups':['kudo.dev'],'apiVersions':['v1beta1'],'operations':['CREATE','UPDATE'],'resources':['instances'],'scope':'Namespaced'}]}]})
    return objs

def crds():
    objs=[]
    for f in ['kudo.dev_operators.yaml','kudo.dev_operatorversions.yaml','kudo.dev_instances.yaml']:
        for d in yaml.safe_load_all(open(f'{FX}/kudo-crds/{f}')):
            if d: objs.append(d)
    return objs

# ---------- cassandra ----------
PLANTED='kudo-diag-planted-secret-4242'
import base64
def b64(s): return base64.b64encode(s.encode()).decode()

def cassandra(ns, broken):
    NAME='analytics-cassandra'; OP='cassandra'
    operator, ov, meta, defaults = package('cassandra', ns)
    ver=meta['operatorVersion']; ovname=ov['metadata']['name']
    params={'NODE_COUNT':'3','PROMETHEUS_EXPORTER_ENABLED':'true','NODE_CPU_MC':'1000','NODE_MEM_MIB':'4096','NODE_DISK_SIZE_GIB':'20','NODE_STORAGE_CLASS':'gp2'}
    if broken: params['NODE_MEM_MIB']='16384'; params['NODE_MEM_LIMIT_MIB']='16384'
    P=dict(defaults); P.update(params)
    overrides={}
    if broken:
        overrides['deploy.nodes.node']={'status':'FATAL_ERROR','message':"Error during execution: fatal error: production/analytics-cassandra-node failed to become healthy: pod analytics-cassandra-node-2 is unschedulable (0/3 nodes are available: 3 Insufficient memory.) and pod analytics-cassandra-node-1 is in CrashLoopBackOff (container cassandra OOMKilled)"}
    inst=instance(NAME, ns, OP, ovname, params, meta['plans'], overrides)
    labels, ann = kudo_meta(NAME, OP, ver, 'deploy', 'nodes', 'node')
    img=P['NODE_DOCKER_IMAGE']; eimg=P['PROMETHEUS_EXPORTER_DOCKER_IMAGE']
    cpu=P['NODE_CPU_MC']; mem=P['NODE_MEM_MIB']; cpul=P['NODE_CPU_LIMIT_MC']; meml=P.get('NODE_MEM_LIMIT_MIB') or mem
    sel={'app':NAME,'cassandra':OP,'kudo.dev/instance':NAME}
    podlabels=dict(sel, **labels)
    def env_fields(): return [{'name':n,'valueFrom':{'fieldRef':{'fieldPath':f}}} for n,f in [('NODE_NAME','spec.nodeName'),('POD_IP','status.podIP'),('POD_NAME','metadata.name'),('POD_NAMESPACE','metadata.namespace'),('POD_SERVICE_ACCOUNT','spec.serviceAccountName'),('POD_UID','metadata.uid')]]
    cass={'name':'cassandra','image':img,'imagePullPolicy':P['NODE_DOCKER_IMAGE_PULL_POLICY'],
          'securityContext':{'capabilities':{'add':['IPC_LOCK','SYS_RESOURCE']}},
          'lifecycle':{'preStop':{'exec':{'command':['/bin/bash','/etc/cassandra/node-drain.sh']}}},
          'readinessProbe':{'exec':{'command':['/bin/bash','/etc/cassandra/node-readiness-probe.sh']},'initialDelaySeconds':int(P['NODE_READINESS_PROBE_INITIAL_DELAY_S']),'periodSeconds':int(P['NODE_READINESS_PROBE_PERIOD_S']),'timeoutSeconds':int(P['NODE_READINESS_PROBE_TIMEOUT_S']),'successThreshold':1,'failureThreshold':3},
          'livenessProbe':{'exec':{'command':['/bin/bash','/etc/cassandra/node-liveness-probe.sh']},'initialDelaySeconds':int(P['NODE_LIVENESS_PROBE_INITIAL_DELAY_S']),'periodSeconds':int(P['NODE_LIVENESS_PROBE_PERIOD_S']),'timeoutSeconds':int(P['NODE_LIVENESS_PROBE_TIMEOUT_S']),'successThreshold':1,'failureThreshold':3},
          'command':['bash','-c'],'args':['/etc/cassandra/generate-cassandra-yaml.sh; /etc/cassandra-bootstrap/bootstrap wait & cassandra -f'],
          'env':env_fields()+[{'name':'PROMETHEUS_EXPORTER_ENABLED','value':'true'},{'name':'CASSANDRA_IP_LOCK_CM','value':f'{NAME}-topology-lock'},{'name':'BOOTSTRAP_TIMEOUT','value':P['BOOTSTRAP_TIMEOUT']},{'name':'JMX_PORT','value':P['JMX_PORT']},{'name':'USE_SSL','value':'false'}],
          'resources':{'requests':{'memory':f'{mem}Mi','cpu':f'{cpu}m'},'limits':{'memory':f'{meml}Mi','cpu':f'{cpul}m'}},
          'ports':[{'containerPort':int(P['STORAGE_PORT']),'name':'storage','protocol':'TCP'},{'containerPort':int(P['SSL_STORAGE_PORT']),'name':'ssl-storage','protocol':'TCP'},{'containerPort':int(P['NATIVE_TRANSPORT_PORT']),'name':'native','protocol':'TCP'}],
          'volumeMounts':[{'name':'var-lib-cassandra','mountPath':'/var/lib/cassandra/'},{'name':'etc-cassandra','mountPath':'/etc/cassandra/'},{'name':'truststore-credentials','mountPath':'/etc/cassandra/truststore','readOnly':True},
                          {'name':'generate-cassandra-yaml','mountPath':'/etc/cassandra/generate-cassandra-yaml.sh','subPath':'generate-cassandra-yaml.sh'},{'name':'cassandra-env-sh','mountPath':'/etc/cassandra/cassandra-env.sh','subPath':'cassandra-env.sh'},
                          {'name':'jvm-options','mountPath':'/etc/cassandra/jvm.options','subPath':'jvm.options'},{'name':'node-scripts','mountPath':'/etc/cassandra/node-drain.sh','subPath':'node-drain.sh'},
                          {'name':'node-scripts','mountPath':'/etc/cassandra/node-readiness-probe.sh','subPath':'node-readiness-probe.sh'},{'name':'node-scripts','mountPath':'/etc/cassandra/node-liveness-probe.sh','subPath':'node-liveness-probe.sh'},
                          {'name':'dot-cassandra','mountPath':'/home/cassandra/.cassandra/'}],
          'terminationMessagePath':'/dev/termination-log','terminationMessagePolicy':'File'}
    exporter={'name':'prometheus-exporter','image':eimg,'imagePullPolicy':P['PROMETHEUS_EXPORTER_DOCKER_IMAGE_PULL_POLICY'],'command':['bash','-c'],
          'args':['bash -c /cassandra-exporter-config/setup.sh; JVM_OPTS="${JVM_OPTS}" /sbin/dumb-init /bin/bash /run.sh;'],'env':env_fields(),
          'resources':{'requests':{'memory':f"{P['PROMETHEUS_EXPORTER_MEM_MIB']}Mi",'cpu':f"{P['PROMETHEUS_EXPORTER_CPU_MC']}m"},'limits':{'memory':f"{P['PROMETHEUS_EXPORTER_MEM_LIMIT_MIB']}Mi",'cpu':f"{P['PROMETHEUS_EXPORTER_CPU_LIMIT_MC']}m"}},
          'volumeMounts':[{'name':'etc-cassandra-exporter','mountPath':'/etc/cassandra_exporter/'},{'name':'cassandra-exporter-config-yml','mountPath':'/cassandra-exporter-config/'}],
          'terminationMessagePath':'/dev/termination-log','terminationMessagePolicy':'File'}
    boot={'name':'bootstrap','image':img,'imagePullPolicy':P['NODE_DOCKER_IMAGE_PULL_POLICY'],'securityContext':{'capabilities':{'add':['IPC_LOCK','SYS_RESOURCE']}},
          'command':['bash','-c'],'args':['/etc/cassandra/generate-cqlshrc.sh; /etc/cassandra/wait-for-node-zero.sh; /etc/cassandra-bootstrap/bootstrap init'],
          'env':[{'name':'POD_IP','valueFrom':{'fieldRef':{'fieldPath':'status.podIP'}}},{'name':'POD_NAME','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}},{'name':'POD_NAMESPACE','valueFrom':{'fieldRef':{'fieldPath':'metadata.namespace'}}},
                 {'name':'CASSANDRA_IP_LOCK_CM','value':f'{NAME}-topology-lock'},{'name':'BOOTSTRAP_TIMEOUT','value':P['BOOTSTRAP_TIMEOUT']},{'name':'SHUTDOWN_OLD_REACHABLE_NODE','value':str(P['SHUTDOWN_OLD_REACHABLE_NODE']).lower()},{'name':'JMX_PORT','value':P['JMX_PORT']},{'name':'USE_SSL','value':'false'}],
          'volumeMounts':[{'name':'etc-cassandra','mountPath':'/etc/cassandra/'},{'name':'var-lib-cassandra','mountPath':'/var/lib/cassandra/'},{'name':'dot-cassandra','mountPath':'/home/cassandra/.cassandra/'}],
          'terminationMessagePath':'/dev/termination-log','terminationMessagePolicy':'File'}
    cm=lambda n,mode=None: {'name':n,'configMap':dict({'name':f'{NAME}-{n}'},**({'defaultMode':mode} if mode else {}))}
    volumes=[{'name':'etc-cassandra','emptyDir':{}},{'name':'dot-cassandra','emptyDir':{}},{'name':'etc-cassandra-exporter','emptyDir':{}},
             cm('generate-cassandra-yaml',0o755),cm('cassandra-env-sh'),cm('jvm-options'),cm('node-scripts',0o755),cm('generate-cqlshrc-sh',0o755),cm('cassandra-exporter-config-yml',0o755),
             {'name':'truststore-credentials','secret':{'secretName':f'{NAME}-tls-store-credentials'}}]
    podspec={'serviceAccountName':f'{NAME}-sa','securityContext':{'runAsNonRoot':True,'runAsUser':999,'runAsGroup':999,'fsGroup':999},
             'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':[{'matchExpressions':[{'key':'kudo-cassandra/cordon','operator':'DoesNotExist'}]}]}}},
             'initContainers':[boot],'containers':[cass,exporter],'volumes':volumes,'restartPolicy':'Always','terminationGracePeriodSeconds':30,'dnsPolicy':'ClusterFirst','schedulerName':'default-scheduler'}
    rev='analytics-cassandra-node-5b8d6f9c47' if broken else 'analytics-cassandra-node-6d9f7b8c5d'
    sts={'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':f'{NAME}-node','namespace':ns,'generation':2 if broken else 1,'creationTimestamp':ts(3),
            'labels':dict({'cassandra':OP,'app':NAME},**labels),'annotations':dict({'reloader.kudo.dev/auto':'true'},**ann),
            'ownerReferences':[{'apiVersion':'kudo.dev/v1beta1','kind':'Instance','name':NAME,'controller':True,'blockOwnerDeletion':True}]},
         'spec':{'selector':{'matchLabels':{'app':NAME,'cassandra':OP}},'serviceName':f'{NAME}-svc','replicas':3,'podManagementPolicy':'OrderedReady',
                 'updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'partition':0}},'revisionHistoryLimit':10,
                 'template':{'metadata':{'labels':podlabels,'annotations':ann},'spec':podspec},
                 'volumeClaimTemplates':[{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'var-lib-cassandra','annotations':{'pv.beta.kubernetes.io/gid':'999'}},
                     'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':f"{P['NODE_DISK_SIZE_GIB']}Gi"}},'storageClassName':'gp2','volumeMode':'Filesystem'}}]},
         'status':{'replicas':3,'readyReplicas':1 if broken else 3,'currentReplicas':2 if broken else 3,'updatedReplicas':1 if broken else 3,'availableReplicas':1 if broken else 3,
                   'currentRevision':'analytics-cassandra-node-6d9f7b8c5d','updateRevision':rev,'observedGeneration':2 if broken else 1,'collisionCount':0}}
    objs=[operator, ov, inst, sts]
    pod_ips=['192.168.0.41','192.168.1.77','192.168.2.103']
    logs=[]; events=[]
    for i in range(3):
        pname=f'{NAME}-node-{i}'; node=NODES[i]
        start=4+i*3
        pl=dict(podlabels,**{'controller-revision-hash':'analytics-cassandra-node-6d9f7b8c5d','statefulset.kubernetes.io/pod-name':pname})
        spec=dict(podspec, hostname=pname, subdomain=f'{NAME}-svc', nodeName=node)
        spec['volumes']=[{'name':'var-lib-cassandra','persistentVolumeClaim':{'claimName':f'var-lib-cassandra-{pname}'}}]+volumes
        status={'phase':'Running','hostIP':NODE_IPS[i],'hostIPs':[{'ip':NODE_IPS[i]}],'podIP':pod_ips[i],'podIPs':[{'ip':pod_ips[i]}],'startTime':ts(start),'qosClass':'Burstable',
                'conditions':pod_conditions(True,start,start+2),
                'initContainerStatuses':[dict(container_status('bootstrap',img,start,ready=True,cid_seed=pname),state={'terminated':{'exitCode':0,'reason':'Completed','startedAt':ts(start),'finishedAt':ts(start+1),'containerID':f"containerd://{hexid('cid',pname,'bootstrap')}"}},started=False)],
                'containerStatuses':[container_status('cassandra',img,start+1,cid_seed=pname),container_status('prometheus-exporter',eimg,start+1,cid_seed=pname)]}
        if broken and i==1:
            status['containerStatuses'][0]=container_status('cassandra',img,start+1,ready=False,restarts=7,cid_seed=pname,
                state={'waiting':{'reason':'CrashLoopBackOff','message':f'back-off 5m0s restarting failed container=cassandra pod={pname}_{ns}({uuid("Pod",ns,pname)})'}},
                last={'terminated':{'exitCode':137,'reason':'OOMKilled','startedAt':ts(40),'finishedAt':ts(46,12),'containerID':f"containerd://{hexid('cid',pname,'cassandra-prev')}"}})
            status['containerStatuses'][0]['started']=False
            status['conditions']=pod_conditions(False,start,46)
        if broken and i==2:
            spec=dict(spec); del spec['nodeName']
            spec['containers']=[dict(cass,resources={'requests':{'memory':f'{mem}Mi','cpu':f'{cpu}m'},'limits':{'memory':f'{meml}Mi','cpu':f'{cpul}m'}}),exporter]
            pl['controller-revision-hash']=rev
            status={'phase':'Pending','qosClass':'Burstable','conditions':pod_conditions(False,50,50,scheduled=False)}
        pod={'apiVersion':'v1','kind':'Pod','metadata':{'name':pname,'namespace':ns,'creationTimestamp':ts(50 if broken and i==2 else start),'labels':pl,'annotations':ann,
                'ownerReferences':[{'apiVersion':'apps/v1','kind':'StatefulSet','name':f'{NAME}-node','controller':True,'blockOwnerDeletion':True}]},
             'spec':spec,'status':status}
        objs.append(pod)
        # PVC + PV
        pvname=f"pvc-{uuid('pv',ns,pname)}"
        objs.append({'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':f'var-lib-cassandra-{pname}','namespace':ns,'creationTimestamp':ts(start),'labels':{'app':NAME,'cassandra':OP},
                        'annotations':{'pv.beta.kubernetes.io/gid':'999','pv.kubernetes.io/bind-completed':'yes','pv.kubernetes.io/bound-by-controller':'yes','volume.kubernetes.io/selected-node':node,'volume.kubernetes.io/storage-provisioner':'kubernetes.io/aws-ebs'},
                        'finalizers':['kubernetes.io/pvc-protection']},
                     'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':'20Gi'}},'storageClassName':'gp2','volumeMode':'Filesystem','volumeName':pvname},
                     'status':{'phase':'Bound','accessModes':['ReadWriteOnce'],'capacity':{'storage':'20Gi'}}})
        objs.append({'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':pvname,'creationTimestamp':ts(start),'labels':{'topology.kubernetes.io/region':'us-east-1','topology.kubernetes.io/zone':['us-east-1a','us-east-1b','us-east-1c'][i]},
                        'annotations':{'kubernetes.io/createdby':'aws-ebs-dynamic-provisioner','pv.kubernetes.io/bound-by-controller':'yes','pv.kubernetes.io/provisioned-by':'kubernetes.io/aws-ebs'},'finalizers':['kubernetes.io/pv-protection']},
                     'spec':{'accessModes':['ReadWriteOnce'],'capacity':{'storage':'20Gi'},'awsElasticBlockStore':{'fsType':'ext4','volumeID':f"aws://{['us-east-1a','us-east-1b','us-east-1c'][i]}/vol-0{hexid('vol',pname,n=16)}"},
                             'claimRef':{'apiVersion':'v1','kind':'PersistentVolumeClaim','name':f'var-lib-cassandra-{pname}','namespace':ns},'persistentVolumeReclaimPolicy':'Delete','storageClassName':'gp2','volumeMode':'Filesystem'},
                     'status':{'phase':'Bound'}})
        if not (broken and i==2):
            for reason,msg,comp,fp in [('Scheduled',f'Successfully assigned {ns}/{pname} to {node}','default-scheduler',None),
                                     ('Pulled',f'Container image "{img}" already present on machine','kubelet','spec.initContainers{bootstrap}'),
                                     ('Created','Created container bootstrap','kubelet','spec.initContainers{bootstrap}'),('Started','Started container bootstrap','kubelet','spec.initContainers{bootstrap}'),
                                     ('Created','Created container cassandra','kubelet','spec.containers{cassandra}'),('Started','Started container cassandra','kubelet','spec.containers{cassandra}'),
                                     ('Created','Created container prometheus-exporter','kubelet','spec.containers{prometheus-exporter}'),('Started','Started container prometheus-exporter','kubelet','spec.containers{prometheus-exporter}')]:
                events.append(event(ns,'Pod',pname,reason,msg,minute=start,component=comp,host=None if comp=='default-scheduler' else node,field=fp))
        events.append(event(ns,'StatefulSet',f'{NAME}-node','SuccessfulCreate',f'create Pod {pname} in StatefulSet {NAME}-node successful',minute=start,component='statefulset-controller',api='apps/v1'))
        events.append(event(ns,'PersistentVolumeClaim',f'var-lib-cassandra-{pname}','ProvisioningSucceeded',f'Successfully provisioned volume {pvname} using kubernetes.io/aws-ebs',minute=start,component='persistentvolume-controller'))
    if broken:
        p1=f'{NAME}-node-1'; p2=f'{NAME}-node-2'
        events.append(event(ns,'Pod',p1,'BackOff','Back-off restarting failed container cassandra in pod '+p1+f'_{ns}({uuid("Pod",ns,p1)})',typ='Warning',minute=47,count=31,host=NODES[1],field='spec.containers{cassandra}'))
        events.append(event(ns,'Pod',p1,'Killing','Container cassandra failed liveness probe, will be restarted',typ='Normal',minute=44,count=2,host=NODES[1],field='spec.containers{cassandra}'))
        events.append(event(ns,'Node',NODES[1],'OOMKilling',f'Memory cgroup out of memory: Killed process 4127 (java) total-vm:9846532kB, anon-rss:4193204kB, file-rss:22152kB, shmem-rss:0kB, UID:999 pgtables:9040kB oom_score_adj:936',typ='Warning',minute=46,count=7,component='kernel-monitor',host=NODES[1]))
        events[-1]['involvedObject'].pop('namespace',None)
        events.append(event(ns,'Pod',p2,'FailedScheduling','0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',typ='Warning',minute=50,count=12,component='default-scheduler'))
        events.append(event(ns,'StatefulSet',f'{NAME}-node','SuccessfulDelete',f'delete Pod {p2} in StatefulSet {NAME}-node successful',minute=49,component='statefulset-controller',api='apps/v1'))
        events.append(event(ns,'Instance',NAME,'PlanFailed',"plan deploy failed: step nodes.node: "+overrides['deploy.nodes.node']['message'],typ='Warning',minute=52,component='kudo-controller',api='kudo.dev/v1beta1'))
    else:
        events.append(event(ns,'Instance',NAME,'PlanFinished','plan deploy finished with status COMPLETE',minute=12,component='kudo-controller',api='kudo.dev/v1beta1'))
    # services, pdb, configmaps, secret, sa/rbac
    svc_ports=[{'name':'storage','port':7000,'protocol':'TCP','targetPort':7000},{'name':'ssl-storage','port':7001,'protocol':'TCP','targetPort':7001},{'name':'native-transport','port':9042,'protocol':'TCP','targetPort':9042},{'name':'prometheus-exporter-port','port':7200,'protocol':'TCP','targetPort':7200}]
    mk=lambda kind,api,name,extra,phase='node',step='node': dict({'apiVersion':api,'kind':kind,'metadata':{'name':name,'namespace':ns,'creationTimestamp':ts(3),'labels':dict(labels),'annotations':dict(ann,**{'kudo.dev/phase':phase,'kudo.dev/step':step}),
                    'ownerReferences':[{'apiVersion':'kudo.dev/v1beta1','kind':'Instance','name':NAME,'controller':True,'blockOwnerDeletion':True}]}},**extra)
    s=mk('Service','v1',f'{NAME}-svc',{'spec':{'type':'ClusterIP','clusterIP':'None','clusterIPs':['None'],'ports':svc_ports,'selector':{'app':NAME,'kudo.dev/instance':NAME},'sessionAffinity':'None','publishNotReadyAddresses':False},'status':{'loadBalancer':{}}})
    s['metadata']['labels']['kudo.dev/servicemonitor']='true'
    objs.append(s)
    ready=[0] if broken else [0,1,2]
    objs.append({'apiVersion':'v1','kind':'Endpoints','metadata':{'name':f'{NAME}-svc','namespace':ns,'labels':dict(labels,**{'service.kubernetes.io/headless':''})},
                 'subsets':[{'addresses':[{'ip':pod_ips[i],'hostname':f'{NAME}-node-{i}','nodeName':NODES[i],'targetRef':{'kind':'Pod','name':f'{NAME}-node-{i}','namespace':ns}} for i in ready],
                             **({'notReadyAddresses':[{'ip':pod_ips[1],'hostname':f'{NAME}-node-1','nodeName':NODES[1],'targetRef':{'kind':'Pod','name':f'{NAME}-node-1','namespace':ns}}]} if broken else {}),
                             'ports':[{'name':p['name'],'port':p['port'],'protocol':'TCP'} for p in svc_ports]}]})
    objs.append(mk('PodDisruptionBudget','policy/v1',f'{NAME}-pdb',{'spec':{'selector':{'matchLabels':{'app':NAME,'cassandra':OP,'kudo.dev/instance':NAME}},'minAvailable':2},
                   'status':{'currentHealthy':1 if broken else 3,'desiredHealthy':2,'disruptionsAllowed':0 if broken else 1,'expectedPods':3,'observedGeneration':1}}))
    objs.append(mk('Secret','v1',f'{NAME}-tls-store-credentials',{'type':'Opaque','data':{'keystore_password':'Y2Fzc2FuZHJh','truststore_password':'Y2Fzc2FuZHJh','planted_password':b64(PLANTED)}}))
    objs.append(mk('ConfigMap','v1',f'{NAME}-topology-lock',{'data':{'ip-'+pod_ips[i]:f'{NAME}-node-{i}' for i in range(3)}}))
    tdir=f'{FX}/kudo-operators/cassandra/templates'
    for t in ['jvm-options.yaml','node-scripts.yaml','cassandra-env-sh.yaml','generate-cqlshrc-sh.yaml','cassandra-exporter-config-yml.yaml']:
        text=render(open(os.path.join(tdir,t)).read(),P,NAME,ns,OP)
        d=yaml.safe_load(text)
        objs.append(mk('ConfigMap','v1',d['metadata']['name'],{'data':d.get('data',{})}))
    objs.append(mk('ServiceAccount','v1',f'{NAME}-sa',{}))
    objs.append(mk('Role','rbac.authorization.k8s.io/v1',f'{NAME}-role',{'rules':[{'apiGroups':[''],'resources':['configmaps'],'verbs':['update','get','list']}]}))
    objs.append(mk('RoleBinding','rbac.authorization.k8s.io/v1',f'{NAME}-binding',{'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':f'{NAME}-role'},'subjects':[{'kind':'ServiceAccount','name':f'{NAME}-sa','namespace':ns}]}))
    objs.append(mk('Role','rbac.authorization.k8s.io/v1',f'{NAME}-node-role',{'rules':[{'apiGroups':[''],'resources':['pods'],'verbs':['get']},{'apiGroups':[''],'resources':['pods/exec'],'verbs':['create']}]},'rbac','rbac-deploy'))
    objs.append(mk('RoleBinding','rbac.authorization.k8s.io/v1',f'{NAME}-node-{ns}-binding',{'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':f'{NAME}-node-role'},'subjects':[{'kind':'ServiceAccount','name':f'{NAME}-sa','namespace':ns}]},'rbac','rbac-deploy'))
    objs.append({'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default','namespace':ns}})
    jvm=[o for o in objs if o['kind']=='ConfigMap' and o['metadata']['name'].endswith('jvm-options')][0]['data']['jvm.options']
    return objs+events, P, jvm, pod_ips

# ---------- cassandra application outputs ----------
HOST_IDS=['664c3243-a7b4-48cf-840d-3173aadf9595','38a639d0-6ead-4dcf-b301-f1272e7f870c','18c470c3-f210-4ced-8512-c720bd2828d8']
def nodetool(ips, broken):
    st=['UN','DN' if broken else 'UN','DN' if broken else 'UN']
    loads=['219.93 KiB','193.24 KiB','191.78 KiB']; owns=['68.7%','66.2%','65.1%']
    status="Datacenter: datacenter1\n=======================\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n--  Address          Load       Tokens       Owns (effective)  Host ID                               Rack\n"
    for i in range(3):
        status+=f"{st[i]:<2}  {ips[i]:<16} {loads[i]:<9}  {'256':<11}  {owns[i]:<16}  {HOST_IDS[i]}  rack1\n"
    version="ReleaseVersion: 3.11.7\n"
    desc=("Cluster Information:\n\tName: analytics-cassandra\n\tSnitch: org.apache.cassandra.locator.GossipingPropertyFileSnitch\n\tDynamicEndPointSnitch: enabled\n"
          "\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner\n\tSchema versions:\n")
    if broken:
        desc+=f"\t\t2207c2a9-f598-3971-986b-2926e09e239d: [{ips[0]}]\n\n\t\tUNREACHABLE: [{ips[1]}, {ips[2]}]\n\n"
    else:
        desc+=f"\t\t2207c2a9-f598-3971-986b-2926e09e239d: [{', '.join(ips)}]\n\n"
    tp=("Pool Name                         Active   Pending      Completed   Blocked  All time blocked\n"
        "ReadStage                              0         0          12847         0                 0\n"
        "MiscStage                              0         0              0         0                 0\n"
        "CompactionExecutor                     0         0           4312         0                 0\n"
        "MutationStage                          0         0          98213         0                 0\n"
        "MemtableReclaimMemory                  0         0             61         0                 0\n"
        "PendingRangeCalculator                 0         0              6         0                 0\n"
        "GossipStage                            0         0          21933         0                 0\n"
        "SecondaryIndexManagement               0         0              0         0                 0\n"
        "HintsDispatcher                        0         0              0         0                 0\n"
        "RequestResponseStage                   0         0          67120         0                 0\n"
        "Native-Transport-Requests              0         0          45519         0                 0\n"
        "ReadRepairStage                        0         0             12         0                 0\n"
        "CounterMutationStage                   0         0              0         0                 0\n"
        "MigrationStage                         0         0              9         0                 0\n"
        "MemtablePostFlush                      0         0             83         0                 0\n"
        "PerDiskMemtableFlushWriter_0           0         0             61         0                 0\n"
        "ValidationExecutor                     0         0              0         0                 0\n"
        "Sampler                                0         0              0         0                 0\n"
        "MemtableFlushWriter                    0         0             61         0                 0\n"
        "InternalResponseStage                  0         0              4         0                 0\n"
        "ViewMutationStage                      0         0              0         0                 0\n"
        "AntiEntropyStage                       0         0              0         0                 0\n"
        "CacheCleanupExecutor                   0         0              0         0                 0\n\n"
        "Message type           Dropped\nREAD                         0\nRANGE_SLICE                  0\n_TRACE                       0\nHINT                         0\nMUTATION                     0\nCOUNTER_MUTATION             0\nBATCH_STORE                  0\nBATCH_REMOVE                 0\nREQUEST_RESPONSE             0\nPAGED_RANGE                  0\nREAD_REPAIR                  0\n")
    comp="pending tasks: 0\n"
    gossip=""
    for i in range(3):
        up = not (broken and i>0)
        gossip+=(f"/{ips[i]}\n  generation:1764230{400+i*3}\n  heartbeat:{9000-i*13 if up else 1187}\n  STATUS:{25+i}:NORMAL,-{9000000000000000000-i*3074457345618258602}\n  LOAD:{9000-i*13}:{[225213.0,197877.0,196382.0][i]}\n"
                 f"  SCHEMA:14:2207c2a9-f598-3971-986b-2926e09e239d\n  DC:8:datacenter1\n  RACK:10:rack1\n  RELEASE_VERSION:4:3.11.7\n  INTERNAL_IP:6:{ips[i]}\n  RPC_ADDRESS:3:{ips[i]}\n  NET_VERSION:1:11\n  HOST_ID:2:{HOST_IDS[i]}\n  RPC_READY:{40+i}:true\n  TOKENS:24:<hidden>\n")
    infos=[]
    for i in range(3):
        infos.append(f"ID                     : {HOST_IDS[i]}\nGossip active          : true\nThrift active          : false\nNative Transport active: true\nLoad                   : {['219.93 KiB','193.24 KiB','191.78 KiB'][i]}\n"
                     f"Generation No          : 1764230{400+i*3}\nUptime (seconds)       : {3500-i*180}\nHeap Memory (MB)       : {[512.41,498.12,473.88][i]} / 2048.00\nOff Heap Memory (MB)   : 0.21\n"
                     "Data Center            : datacenter1\nRack                   : rack1\nExceptions             : 0\n"
                     f"Key Cache              : entries 31, size 2.66 KiB, capacity 100 MiB, 412 hits, 463 requests, 0.890 recent hit rate, 14400 save period in seconds\n"
                     "Row Cache              : entries 0, size 0 bytes, capacity 0 bytes, 0 hits, 0 requests, NaN recent hit rate, 0 save period in seconds\n"
                     "Counter Cache          : entries 0, size 0 bytes, capacity 50 MiB, 0 hits, 0 requests, NaN recent hit rate, 7200 save period in seconds\n"
                     "Chunk Cache            : entries 17, size 1.06 MiB, capacity 480 MiB, 71 misses, 1320 requests, 0.946 recent hit rate, NaN microseconds miss latency\n"
                     "Percent Repaired       : 100.0%\nToken                  : (invoke with -T/--tokens to see all 256 tokens)\n")
    return status, version, desc, tp, comp, gossip, infos

def regex_cmd(tool, sub):
    # Matches `nodetool status`, `/opt/cassandra/bin/nodetool -h localhost status` and the same inside `bash -c "..."`.
    return f"(^|[ /]){re.escape(tool)}( \\S+)* {sub}$"

CASS_TEMPLATES=[
 "INFO  [CompactionExecutor:{int}] {time} CompactionTask.java:255 - Compacted (8a1f{int}) 4 sstables to [/var/lib/cassandra/data/analytics/{word}-7d6f{int}/md-{n}-big,] to level=0.  {int} bytes to {int} (~{int}% of original) in {int}ms.",
 "INFO  [GossipStage:1] {time} Gossiper.java:1105 - Node /{word} state jump to NORMAL",
 "INFO  [Service Thread] {time} GCInspector.java:285 - ParNew GC in {int}ms.  CMS Old Gen: {int} -> {int}; Par Eden Space: {int} -> 0;",
 "INFO  [NativePoolCleaner] {time} ColumnFamilyStore.java:1008 - Enqueuing flush of {word}: {int} KiB ({int}%) on-heap, 0 KiB (0%) off-heap",
 "INFO  [PerDiskMemtableFlushWriter_0:{int}] {time} Memtable.java:477 - Writing Memtable-{word}@{int}({int} KiB serialized bytes, {int} ops, 0%/0% of on/off-heap limit), flushed range = (min(-9223372036854775808), max(9223372036854775807)]",
 "{level} [HintsDispatcher:{int}] {time} HintsDispatchExecutor.java:{int} - {word} {word} for endpoint {int} completed",
 "INFO  [IndexSummaryManager:1] {time} IndexSummaryRedistribution.java:77 - Redistributing index summaries",
]
EXPORTER_TEMPLATES=[
 "{time} INFO  [pool-1-thread-{int}] c.z.c.e.CassandraExporter - Scraped {int} metrics from JMX in {int}ms",
 "{time} {level} [main] c.z.c.e.JmxScraper - {word} {word} refreshed ({int} beans)",
]
KUDO_TEMPLATES=[
 "{time} InstanceController: Received Instance production/analytics-cassandra for reconciliation",
 "{time} InstanceController: Going to proceed with execution of the scheduled plan deploy on instance production/analytics-cassandra",
 "{time} PlanExecution: production/analytics-cassandra all phases of the plan deploy are ready",
 "{time} {level} TaskExecution: {word} task {word}.{word}.{word} finished in {int}ms",
 "{time} OperatorVersionController: Received OperatorVersion {word}/{word}-{int}",
]

def glog(templates, seed, lines):
    return {'generate':{'lines':lines,'seed':seed,'templates':templates,'intervalMs':1500}}

def cassandra_scenario(broken):
    ns='production'
    objs, P, jvm, ips = cassandra(ns, broken)
    name='broken-cassandra' if broken else 'cassandra'
    st, ver, desc, tp, comp, gossip, infos = nodetool(ips, broken)
    pods=[f'analytics-cassandra-node-{i}' for i in range(3)]
    live=[0] if broken else [0,1,2]
    logs=[]
    for i in live:
        logs.append(dict({'pod':pods[i],'container':'cassandra'},**glog(CASS_TEMPLATES,100+i,2000)))
    for i in ([0,1] if broken else [0,1,2]):
        logs.append(dict({'pod':pods[i],'container':'prometheus-exporter'},**glog(EXPORTER_TEMPLATES,200+i,600)))
        boot=(f"2026-11-27T08:{4+i*3:02d}:01.102934512Z Generating cqlshrc\n"
              f"2026-11-27T08:{4+i*3:02d}:01.208337401Z Waiting for node-0 to be ready ({pods[0]}.analytics-cassandra-svc.{ns}.svc.cluster.local)\n"
              f"2026-11-27T08:{4+i*3:02d}:02.551041119Z bootstrap: acquired topology lock analytics-cassandra-topology-lock for {pods[i]} with IP {ips[i]}\n"
              f"2026-11-27T08:{4+i*3:02d}:02.601233480Z bootstrap: no previous IP recorded for {pods[i]}; this is a new node\n"
              f"2026-11-27T08:{4+i*3:02d}:02.700158227Z bootstrap: init done\n")
        logs.append({'pod':pods[i],'container':'bootstrap','inline':boot})
    if broken:
        oom=("2026-11-27T08:40:02.118000000Z INFO  [main] 2026-11-27 08:40:02,118 CassandraDaemon.java:507 - JVM Arguments: [-Xloggc:/var/log/cassandra/gc.log, -ea, -XX:+UseParNewGC, -XX:+UseConcMarkSweepGC, -Xms4096M, -Xmx4096M, -Xmn400M, -XX:+HeapDumpOnOutOfMemoryError]\n"
             "2026-11-27T08:40:09.530000000Z INFO  [main] 2026-11-27 08:40:09,530 StorageService.java:1497 - JOINING: Finish joining ring\n"
             "2026-11-27T08:41:12.004000000Z INFO  [main] 2026-11-27 08:41:12,004 CassandraDaemon.java:556 - Startup complete\n"
             "2026-11-27T08:45:31.771000000Z WARN  [Service Thread] 2026-11-27 08:45:31,771 GCInspector.java:282 - ConcurrentMarkSweep GC in 5873ms.  CMS Old Gen: 3817865464 -> 3817865448; Par Eden Space: 335544320 -> 332922128; Par Survivor Space: 41943040 -> 41927376\n"
             "2026-11-27T08:45:58.092000000Z WARN  [Service Thread] 2026-11-27 08:45:58,092 GCInspector.java:282 - ConcurrentMarkSweep GC in 9147ms.  CMS Old Gen: 3817865448 -> 3817865440\n"
             "2026-11-27T08:46:10.412000000Z ERROR [ReadStage-2] 2026-11-27 08:46:10,412 JVMStabilityInspector.java:142 - JVM state determined to be unstable.  Exiting forcefully due to:\n"
             "java.lang.OutOfMemoryError: Java heap space\n"
             "\tat java.nio.HeapByteBuffer.<init>(HeapByteBuffer.java:57)\n"
             "\tat java.nio.ByteBuffer.allocate(ByteBuffer.java:335)\n"
             "\tat org.apache.cassandra.io.util.BufferedDataOutputStreamPlus.<init>(BufferedDataOutputStreamPlus.java:71)\n"
             "\tat org.apache.cassandra.db.ReadResponse$LocalDataResponse.build(ReadResponse.java:169)\n"
             "\tat org.apache.cassandra.db.ReadCommandVerbHandler.doVerb(ReadCommandVerbHandler.java:48)\n"
             "\tat org.apache.cassandra.net.MessageDeliveryTask.run(MessageDeliveryTask.java:66)\n"
             "\tat java.lang.Thread.run(Thread.java:748)\n"
             "2026-11-27T08:46:10.530000000Z java.lang.OutOfMemoryError: Java heap space\n"
             "2026-11-27T08:46:10.531000000Z Dumping heap to java_pid1.hprof ...\n")
        logs.append({'pod':pods[1],'container':'cassandra','previous':True,'inline':oom})
    logs.append(dict({'namespace':'kudo-system','pod':'kudo-controller-manager-0','container':'manager'},**glog(KUDO_TEMPLATES,7,3000)))
    exec_=[]
    sel='analytics-cassandra-node-[0-9]+'
    for sub,out in [('status',st),('version',ver),('describecluster',desc),('tpstats',tp),('compactionstats',comp),('gossipinfo',gossip)]:
        exec_.append({'pod':sel,'container':'cassandra','regex':regex_cmd('nodetool',sub),'stdout':out})
    for i in range(3):
        exec_.append({'pod':pods[i],'container':'cassandra','regex':regex_cmd('nodetool','info'),'stdout':infos[i]})
        exec_.append({'pod':pods[i],'container':'cassandra','regex':regex_cmd('nodetool','netstats'),'stdout':appfiles.nodetool_netstats(i,broken)})
        exec_.append({'pod':pods[i],'container':'cassandra','regex':regex_cmd('nodetool','tablestats'),'stdout':appfiles.nodetool_tablestats(i)})
    exec_.append({'pod':sel,'container':'cassandra','regex':regex_cmd('nodetool','ring'),'stdout':appfiles.nodetool_ring(ips,broken,['219.93 KiB','193.24 KiB','191.78 KiB'],['68.7%','66.2%','65.1%'])})
    files=[]
    for i in range(3):
        cy=(f"# cassandra.yaml as generated by /etc/cassandra/generate-cassandra-yaml.sh (abridged)\ncluster_name: analytics-cassandra\nnum_tokens: 256\n"
            f"seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    parameters:\n      - seeds: \"{pods[0]}.analytics-cassandra-svc.{ns}.svc.cluster.local\"\n"
            f"listen_address: {ips[i]}\nrpc_address: 0.0.0.0\nbroadcast_rpc_address: {ips[i]}\nendpoint_snitch: GossipingPropertyFileSnitch\nnative_transport_port: 9042\nstorage_port: 7000\n"
            "data_file_directories:\n  - /var/lib/cassandra/data\ncommitlog_directory: /var/lib/cassandra/commitlog\n")
        files.append({'pod':pods[i],'container':'cassandra','path':'/etc/cassandra/cassandra.yaml','content':cy})
    files.append({'pod':sel,'container':'cassandra','path':'/etc/cassandra/jvm.options','content':jvm})
    env_sh=[o for o in objs if o['kind']=='ConfigMap' and o['metadata']['name'].endswith('cassandra-env-sh')][0]['data']['cassandra-env.sh']
    files.append({'pod':sel,'container':'cassandra','path':'/etc/cassandra/cassandra-env.sh','content':env_sh})
    files.append({'pod':sel,'container':'cassandra','path':'/etc/cassandra/cassandra-rackdc.properties','content':'dc=datacenter1\nrack=rack1\n'})
    for i in live:
        sysl, debug, gc = appfiles.cassandra_logs(i, pods[i], ips[i], ips, broken)
        for f, c in [('system.log',sysl),('debug.log',debug),('gc.log.0.current',gc)]:
            files.append({'pod':pods[i],'container':'cassandra','path':f'/var/log/cassandra/{f}','content':c})
    objs+=appfiles.namespace_policy(ns, objs)
    return name, ns, objs, logs, exec_, files

# ---------- generic stateful app (zookeeper, kafka) ----------
def stateful_app(ns, inst, op, ver, sts_name, app_labels, containers, n, ip_base, claim, disk, minute0, svc_specs):
    labels, ann = kudo_meta(inst, op, ver, 'deploy', 'deploy' if op=='zookeeper' else 'deploy-kafka', 'deploy' if op=='zookeeper' else 'app')
    objs=[]; events=[]
    own=lambda kind,api,name: [{'apiVersion':api,'kind':kind,'name':name,'controller':True,'blockOwnerDeletion':True}]
    tmpl_labels=dict(app_labels,**labels)
    podspec={'containers':containers,'restartPolicy':'Always','terminationGracePeriodSeconds':300,'dnsPolicy':'ClusterFirst','schedulerName':'default-scheduler',
             'securityContext':{'fsGroup':1000,'runAsUser':1000}}
    rev=f'{sts_name}-{hexid(sts_name,n=10)}'
    objs.append({'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':sts_name,'namespace':ns,'labels':dict(app_labels,**labels),'annotations':ann,'generation':1,'creationTimestamp':ts(minute0),
                     'ownerReferences':own('Instance','kudo.dev/v1beta1',inst)},
                 'spec':{'replicas':n,'selector':{'matchLabels':app_labels},'serviceName':svc_specs[0]['name'],'podManagementPolicy':'Parallel','updateStrategy':{'type':'RollingUpdate','rollingUpdate':{'partition':0}},
                         'template':{'metadata':{'labels':tmpl_labels,'annotations':ann},'spec':podspec},
                         'volumeClaimTemplates':[{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':claim},'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':disk}},'storageClassName':'gp2','volumeMode':'Filesystem'}}]},
                 'status':{'replicas':n,'readyReplicas':n,'currentReplicas':n,'updatedReplicas':n,'availableReplicas':n,'currentRevision':rev,'updateRevision':rev,'observedGeneration':1,'collisionCount':0}})
    ips=[]
    for i in range(n):
        pname=f'{sts_name}-{i}'; node=NODES[i%3]; ip=f'{ip_base}.{i%3}.{60+i*7}'; ips.append(ip)
        start=minute0+1+i
        spec=dict(podspec,hostname=pname,subdomain=svc_specs[0]['name'],nodeName=node,volumes=[{'name':claim,'persistentVolumeClaim':{'claimName':f'{claim}-{pname}'}}])
        objs.append({'apiVersion':'v1','kind':'Pod','metadata':{'name':pname,'namespace':ns,'creationTimestamp':ts(start),'annotations':ann,
                        'labels':dict(tmpl_labels,**{'controller-revision-hash':rev,'statefulset.kubernetes.io/pod-name':pname}),'ownerReferences':own('StatefulSet','apps/v1',sts_name)},
                     'spec':spec,
                     'status':{'phase':'Running','hostIP':NODE_IPS[i%3],'hostIPs':[{'ip':NODE_IPS[i%3]}],'podIP':ip,'podIPs':[{'ip':ip}],'startTime':ts(start),'qosClass':'Burstable',
                               'conditions':pod_conditions(True,start,start+1),
                               'containerStatuses':[container_status(c['name'],c['image'],start,cid_seed=pname) for c in containers]}})
        pv=f"pvc-{uuid('pv',ns,pname)}"
        objs.append({'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':f'{claim}-{pname}','namespace':ns,'labels':dict(app_labels),'creationTimestamp':ts(start),
                        'annotations':{'pv.kubernetes.io/bind-completed':'yes','volume.kubernetes.io/selected-node':node},'finalizers':['kubernetes.io/pvc-protection']},
                     'spec':{'accessModes':['ReadWriteOnce'],'resources':{'requests':{'storage':disk}},'storageClassName':'gp2','volumeMode':'Filesystem','volumeName':pv},
                     'status':{'phase':'Bound','accessModes':['ReadWriteOnce'],'capacity':{'storage':disk}}})
        objs.append({'apiVersion':'v1','kind':'PersistentVolume','metadata':{'name':pv,'creationTimestamp':ts(start),'finalizers':['kubernetes.io/pv-protection'],'annotations':{'pv.kubernetes.io/provisioned-by':'kubernetes.io/aws-ebs'}},
                     'spec':{'accessModes':['ReadWriteOnce'],'capacity':{'storage':disk},'awsElasticBlockStore':{'fsType':'ext4','volumeID':f"aws://us-east-1a/vol-0{hexid('vol',pname,n=16)}"},
                             'claimRef':{'apiVersion':'v1','kind':'PersistentVolumeClaim','name':f'{claim}-{pname}','namespace':ns},'persistentVolumeReclaimPolicy':'Delete','storageClassName':'gp2','volumeMode':'Filesystem'},
                     'status':{'phase':'Bound'}})
        events.append(event(ns,'Pod',pname,'Scheduled',f'Successfully assigned {ns}/{pname} to {node}',minute=start,component='default-scheduler'))
        for c in containers:
            events.append(event(ns,'Pod',pname,'Pulled',f'Successfully pulled image "{c["image"]}" in 3.012s (3.012s including waiting). Image size: 221894017 bytes.',minute=start,host=node,field=f'spec.containers{{{c["name"]}}}'))
            events.append(event(ns,'Pod',pname,'Started',f'Started container {c["name"]}',minute=start,host=node,field=f'spec.containers{{{c["name"]}}}'))
        events.append(event(ns,'StatefulSet',sts_name,'SuccessfulCreate',f'create Pod {pname} in StatefulSet {sts_name} successful',minute=start,component='statefulset-controller',api='apps/v1'))
    for s in svc_specs:
        objs.append({'apiVersion':'v1','kind':'Service','metadata':{'name':s['name'],'namespace':ns,'labels':dict(s.get('labels',{}),**labels),'annotations':ann,'creationTimestamp':ts(minute0),
                        'ownerReferences':own('Instance','kudo.dev/v1beta1',inst)},
                     'spec':{'type':'ClusterIP','clusterIP':'None','clusterIPs':['None'],'ports':[{'name':k,'port':v,'protocol':'TCP','targetPort':v} for k,v in s['ports']],'selector':s['selector'],'sessionAffinity':'None'},
                     'status':{'loadBalancer':{}}})
    objs.append({'apiVersion':'policy/v1','kind':'PodDisruptionBudget','metadata':{'name':f'{inst}-pdb','namespace':ns,'labels':labels,'annotations':ann,'ownerReferences':own('Instance','kudo.dev/v1beta1',inst)},
                 'spec':{'selector':{'matchLabels':app_labels},'maxUnavailable':1},'status':{'currentHealthy':n,'desiredHealthy':n-1,'disruptionsAllowed':1,'expectedPods':n,'observedGeneration':1}})
    objs.append({'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'default','namespace':ns}})
    return objs+events, ips

def zk_scenario_parts(ns, inst, owner=None, minute0=2, seed0=300):
    operator, ov, meta, defaults = package('zookeeper', ns)
    ver=meta['operatorVersion']; ovname=ov['metadata']['name']
    params={'NODE_COUNT':'3'}
    P=dict(defaults); P.update(params)
    instobj=instance(inst, ns, 'zookeeper', ovname, params, meta['plans'], owner=owner)
    if owner:
        instobj['metadata']['labels']['kudo.dev/instance']=owner  # KUDO labels a child instance with its parent, like any resource it creates
        instobj['metadata']['labels']['heritage']='kudo'
        instobj['metadata']['annotations'].update({'kudo.dev/plan':'deploy','kudo.dev/phase':'dependencies','kudo.dev/step':'zookeeper','kudo.dev/operator-version':'1.3.2'})
    sts=f'{inst}-zookeeper'
    cont={'name':'kubernetes-zookeeper','image':'zookeeper:3.6.2','imagePullPolicy':'Always',
          'resources':{'requests':{'memory':P['MEMORY'],'cpu':P['CPUS']},'limits':{'memory':P['MEM_LIMIT'],'cpu':P['CPUS_LIMIT']}},
          'ports':[{'containerPort':2181,'name':'client','protocol':'TCP'},{'containerPort':2888,'name':'server','protocol':'TCP'},{'containerPort':3888,'name':'leader-election','protocol':'TCP'}],
          'command':['bash','-c','ZOO_DATA_DIR=/var/lib/zookeeper/data ZOO_DATA_LOG_DIR=/var/lib/zookeeper/log /etc/zookeeper/bootstrap.sh --servers=3 --data_dir=/var/lib/zookeeper/data --data_log_dir=/var/lib/zookeeper/log --conf_dir=/conf --client_port=2181 --election_port=3888 --server_port=2888'],
          'readinessProbe':{'exec':{'command':['sh','-c','/etc/healthcheck/healthcheck.sh 2181']},'initialDelaySeconds':10,'timeoutSeconds':5},
          'livenessProbe':{'exec':{'command':['sh','-c','/etc/healthcheck/healthcheck.sh 2181']},'initialDelaySeconds':10,'timeoutSeconds':5},
          'volumeMounts':[{'name':f'{inst}-datadir','mountPath':'/var/lib/zookeeper'}]}
    objs, ips = stateful_app(ns, inst, 'zookeeper', ver, sts, {'app':'zookeeper','zookeeper':'zookeeper','instance':inst}, [cont], 3, '192.168', f'{inst}-datadir', P['DISK_SIZE'], minute0,
                             [{'name':f'{inst}-hs','ports':[('server',2888),('leader-election',3888)],'selector':{'app':'zookeeper','instance':inst},'labels':{'app':'zookeeper','zookeeper':inst}},
                              {'name':f'{inst}-cs','ports':[('client',2181)],'selector':{'app':'zookeeper','instance':inst},'labels':{'app':'zookeeper','zookeeper':inst}}])
    for t in ['bootstrap.sh.yaml','healthcheck.sh.yaml']:
        d=yaml.safe_load(render(open(f'{FX}/kudo-operators/zookeeper/templates/{t}').read(),P,inst,ns,'zookeeper'))
        labels, ann = kudo_meta(inst,'zookeeper',ver,'deploy','zookeeper','deploy')
        objs.append({'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':d['metadata']['name'],'namespace':ns,'labels':labels,'annotations':ann,
                     'ownerReferences':[{'apiVersion':'kudo.dev/v1beta1','kind':'Instance','name':inst,'controller':True,'blockOwnerDeletion':True}]},'data':d.get('data',{})})
    pods=[f'{sts}-{i}' for i in range(3)]
    leader=1
    hs=f'{inst}-hs.{ns}.svc.cluster.local'
    exec_=[]; logs=[]
    for i,p in enumerate(pods):
        mode='leader' if i==leader else 'follower'
        zxid='0x100000047'
        head="Zookeeper version: 3.6.2--803c7f1a12f85978cb049af5e4ef23bd8b688715, built on 09/04/2020 12:44 GMT\n"
        body=f"Latency min/avg/max: 0/{0.41+i*0.07:.4f}/{12+i}\nReceived: {1843+i*211}\nSent: {1842+i*211}\nConnections: {2+i}\nOutstanding: 0\nZxid: {zxid}\nMode: {mode}\nNode count: 27\n"
        if mode=='leader': body+="Proposal sizes last/min/max: 92/32/412\n"
        clients="Clients:\n"+''.join(f" /192.168.{k}.{30+k}:{53312+k}[1](queued=0,recved={600+k},sent={600+k})\n" for k in range(2+i))+"\n"
        mntr=("zk_version\t3.6.2--803c7f1a12f85978cb049af5e4ef23bd8b688715, built on 09/04/2020 12:44 GMT\nzk_server_state\t"+mode+"\n"
              f"zk_avg_latency\t{0.41+i*0.07:.4f}\nzk_max_latency\t{12+i}\nzk_min_latency\t0\nzk_packets_received\t{1843+i*211}\nzk_packets_sent\t{1842+i*211}\nzk_num_alive_connections\t{2+i}\n"
              "zk_outstanding_requests\t0\nzk_znode_count\t27\nzk_watch_count\t4\nzk_ephemerals_count\t3\nzk_approximate_data_size\t1877\nzk_open_file_descriptor_count\t62\nzk_max_file_descriptor_count\t1048576\n"
              +("zk_followers\t2\nzk_synced_followers\t2\nzk_pending_syncs\t0\n" if mode=='leader' else ""))
        conf=(f"clientPort=2181\nsecureClientPort=-1\ndataDir=/var/lib/zookeeper/data/version-2\ndataDirSize=67108880\ndataLogDir=/var/lib/zookeeper/log/version-2\ndataLogSize=67108880\n"
              f"tickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId={i+1}\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\n"
              "electionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \n"+''.join(f"server.{k+1}={pods[k]}.{hs}:2888:3888:participant\n" for k in range(3))+"version=100000000\n")
        # The operator's zoo.cfg whitelists only srvr and ruok (4lw.commands.whitelist), so the
        # other words answer what ZooKeeper 3.6 answers for them.
        nw=lambda w: f"{w} is not executed because it is not in the whitelist.\n"
        for w,out in [('srvr',head+body),('stat',nw('stat')),('mntr',nw('mntr')),('conf',nw('conf')),('ruok','imok')]:
            exec_.append({'pod':p,'container':'kubernetes-zookeeper','regex':f"echo {w} \\| (nc|ncat) (localhost|127\\.0\\.0\\.1) 2181$",'stdout':out})
        logs.append({'namespace':ns,'pod':p,'container':'kubernetes-zookeeper','generate':{'lines':1500,'seed':seed0+i,'intervalMs':2000,'templates':[
            "{time} [myid:"+str(i+1)+"] - INFO  [NIOWorkerThread-{int}:NIOServerCnxn@{int}] - Processing srvr command from /127.0.0.1:{int}",
            "{time} [myid:"+str(i+1)+"] - INFO  [SyncThread:"+str(i+1)+":FileTxnLog@{int}] - Creating new log file: log.10000{int}",
            "{time} [myid:"+str(i+1)+"] - {level}  [QuorumPeer[myid="+str(i+1)+"](plain=0.0.0.0:2181)(secure=disabled):"+("Leader" if mode=='leader' else "Follower")+"@{int}] - {word} {word} zxid 0x10000{int}",
            "{time} [myid:"+str(i+1)+"] - INFO  [NIOServerCxnFactory.AcceptThread:0.0.0.0/0.0.0.0:2181:NIOServerCnxnFactory$AcceptThread@{int}] - Accepted socket connection from /192.168.{int}"]}})
    files=[]
    for i,p in enumerate(pods):
        cfg=("clientPort=2181\ndataDir=/var/lib/zookeeper/data\ndataLogDir=/var/lib/zookeeper/log\ntickTime=2000\ninitLimit=10\nsyncLimit=5\nmaxClientCnxns=60\n"
             "minSessionTimeout=4000\nmaxSessionTimeout=40000\nautopurge.snapRetainCount=3\nautopurge.purgeInteval=12\n4lw.commands.whitelist=srvr, ruok\n"
             +''.join(f"server.{k+1}={pods[k]}.{hs}:2888:3888\n" for k in range(3)))
        files.append({'pod':p,'container':'kubernetes-zookeeper','path':'/conf/zoo.cfg','content':cfg})
        files.append({'pod':p,'container':'kubernetes-zookeeper','path':'/var/lib/zookeeper/data/myid','content':f"{i+1}\n"})
        # bootstrap.sh's log4j.properties: ROLLINGFILE to ${zookeeper.log.dir}/zookeeper.log, ZOO_LOG_DIR=/logs.
        files.append({'pod':p,'container':'kubernetes-zookeeper','path':'/logs/zookeeper.log','content':appfiles.zookeeper_log(i,'leader' if i==leader else 'follower',pods,hs)})
    return [operator, ov, instobj]+objs, exec_, logs, pods, files

ZK_VERSION="3.6.2--803c7f1a12f85978cb049af5e4ef23bd8b688715, built on 09/04/2020 12:44 GMT"
def jackson(obj):
    """JSON as ZooKeeper's AdminServer prints it (Jackson's default pretty printer)."""
    return json.dumps(obj, indent=2, separators=(',', ' : '))+"\n"

def zk_admin_http(ns, pods, inst, leader=1):
    """ZooKeeper's AdminServer (port 8080, on by default since 3.5) on every server: /commands/stat,
    /commands/mntr and /commands/conf answer in JSON whatever 4lw.commands.whitelist says. The
    numbers are the ones zk_scenario_parts gives the four-letter words."""
    hs=f'{inst}-hs.{ns}.svc.cluster.local'
    out=[]
    for i,p in enumerate(pods):
        mode='leader' if i==leader else 'follower'
        conns=[{'remote_socket_address':f"192.168.{k}.{30+k}:{53312+k}",'interest_ops':1,'outstanding_requests':0,'packets_received':600+k,'packets_sent':600+k} for k in range(2+i)]
        resp={'last_buffer_size':16,'min_buffer_size':16,'max_buffer_size':412}
        stat={'version':ZK_VERSION,'read_only':False,
              'server_stats':{'packets_sent':1842+i*211,'packets_received':1843+i*211,'fsync_threshold_exceed_count':0,'client_response_stats':resp,
                              'data_dir_size':67108880,'log_dir_size':67108880,'last_processed_zxid':0x100000047,'outstanding_requests':0,'server_state':mode,
                              'avg_latency':round(0.41+i*0.07,4),'max_latency':12+i,'min_latency':0,'num_alive_client_connections':2+i,'provider_null':False,'uptime':604800000+i*1000},
              'client_response':resp,'node_count':27,'connections':conns,'secure_connections':[],'command':'stats','error':None}
        mntr={'version':ZK_VERSION,'avg_latency':round(0.41+i*0.07,4),'max_latency':12+i,'min_latency':0,'packets_received':1843+i*211,'packets_sent':1842+i*211,
              'num_alive_connections':2+i,'outstanding_requests':0,'server_state':mode,'znode_count':27,'watch_count':4,'ephemerals_count':3,'approximate_data_size':1877,
              'open_file_descriptor_count':62,'max_file_descriptor_count':1048576}
        if mode=='leader': mntr.update({'learners':2,'synced_followers':2,'synced_non_voting_followers':0,'synced_observers':0,'pending_syncs':0})
        mntr.update({'command':'monitor','error':None})
        conf={'client_port':2181,'secure_client_port':-1,'data_dir':'/var/lib/zookeeper/data/version-2','data_dir_size':67108880,'data_log_dir':'/var/lib/zookeeper/log/version-2',
              'data_log_size':67108880,'tick_time':2000,'max_client_cnxns':60,'min_session_timeout':4000,'max_session_timeout':40000,'client_port_listen_backlog':-1,'server_id':i+1,
              'init_limit':10,'sync_limit':5,'election_alg':3,'election_port':3888,'quorum_port':2888,'peer_type':0,
              'membership':''.join(f"server.{k+1}={pods[k]}.{hs}:2888:3888:participant\n" for k in range(len(pods)))+"version=100000000",
              'command':'configuration','error':None}
        for word,body in [('stat',stat),('mntr',mntr),('conf',conf)]:
            out.append({'pod':p,'port':'8080','path':f'commands/{word}','body':jackson(body)})
    return out

def zookeeper_scenario():
    ns='my-namespace'
    objs, exec_, logs, pods, files = zk_scenario_parts(ns,'zookeeper-instance')
    for l in logs: l.pop('namespace',None)
    logs.append(dict({'namespace':'kudo-system','pod':'kudo-controller-manager-0','container':'manager'},**glog([t.replace('production/analytics-cassandra',f'{ns}/zookeeper-instance') for t in KUDO_TEMPLATES],8,3000)))
    return 'zookeeper', ns, objs, logs, exec_, files

def kafka_scenario():
    ns='kafka'; inst='kafka'
    operator, ov, meta, defaults = package('kafka', ns)
    # The fixture's kafka package (1.3.2) predates KUDO operator dependencies; add the
    # KudoOperator task a dependent package declares, so the Instance tree is what KUDO builds.
    ov['spec']['tasks'].insert(0,{'name':'zookeeper','kind':'KudoOperator','spec':{'package':'zookeeper','operatorVersion':'0.3.3','instanceName':'kafka-zookeeper','parameterFile':'zookeeper-params.yaml'}})
    meta['plans']['deploy']['phases'].insert(0,{'name':'dependencies','strategy':'serial','steps':[{'name':'zookeeper','tasks':['zookeeper']}]})
    ver=meta['operatorVersion']; ovname=ov['metadata']['name']
    zk_hosts=','.join(f'kafka-zookeeper-zookeeper-{i}.kafka-zookeeper-hs:2181' for i in range(3))
    params={'BROKER_COUNT':'3','ZOOKEEPER_URI':zk_hosts,'ZOOKEEPER_PATH':'/kafka'}
    P=dict(defaults); P.update(params)
    instobj=instance(inst, ns, 'kafka', ovname, params, meta['plans'])
    zk_objs, zk_exec, zk_logs, zk_pods, zk_files = zk_scenario_parts(ns,'kafka-zookeeper',owner=inst,minute0=2,seed0=400)
    sts=f'{inst}-kafka'
    conts=[{'name':'kafka-node-exporter','image':'quay.io/prometheus/node-exporter:v0.18.1','resources':{'requests':{'cpu':'100m','memory':'128Mi'},'limits':{'cpu':'500m','memory':'512Mi'}},
            'ports':[{'containerPort':9096,'name':'ne-metrics','protocol':'TCP'}],'args':['--web.listen-address=:9096','--path.procfs=/host/proc','--path.sysfs=/host/sys']},
           {'name':'k8skafka','image':'mesosphere/kafka:2.5.1-1.3.1','imagePullPolicy':'Always',
            'resources':{'requests':{'memory':P['BROKER_MEM'],'cpu':P['BROKER_CPUS']},'limits':{'memory':P['BROKER_MEM_LIMIT'],'cpu':P['BROKER_CPUS_LIMIT']}},
            'ports':[{'containerPort':9093,'name':'server','protocol':'TCP'},{'containerPort':9092,'name':'client','protocol':'TCP'},{'containerPort':9094,'name':'metrics','protocol':'TCP'}],
            'command':['bash','-c','/bootstrap/bootstrap.sh && exec /opt/kafka/bin/kafka-server-start.sh /config/server.properties'],
            # KAFKA_HOME comes from the image (mesosphere/kafka); it is spelled out here so that
            # `sh -c "${KAFKA_HOME}/bin/..."` expands in the simulated container.
            'env':[{'name':'KAFKA_HOME','value':'/opt/kafka'},{'name':'POD_NAME','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}},{'name':'KAFKA_HEAP_OPTS','value':'-Xmx1536M -Xms1536M'},{'name':'LOG_DIR','value':'/var/lib/kafka/data'},{'name':'KAFKA_OPTS','value':'-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent-0.1.0.jar=9094:/metrics/metrics.properties'}],
            'livenessProbe':{'exec':{'command':['bash','-c','/health-check-script/health-check.sh']},'initialDelaySeconds':30,'periodSeconds':10,'timeoutSeconds':5,'failureThreshold':3},
            'readinessProbe':{'tcpSocket':{'port':9093},'initialDelaySeconds':20,'periodSeconds':10,'timeoutSeconds':5},
            'volumeMounts':[{'name':'kafka-datadir','mountPath':'/var/lib/kafka'}]}]
    objs, ips = stateful_app(ns, inst, 'kafka', ver, sts, {'app':'kafka','kafka':'kafka','kudo.dev/instance':inst}, conts, 3, '192.168', 'kafka-datadir', '5Gi', 8,
                             [{'name':f'{inst}-svc','ports':[('server',9093),('client',9092),('metrics',9094),('ne-metrics',9096)],'selector':{'app':'kafka','kudo.dev/instance':inst},'labels':{'kudo.dev/servicemonitor':'true'}}])
    # The child instance's objects: its Instance owns them; its Instance is owned by ours.
    allobjs=[operator, ov, instobj]+zk_objs+objs
    brokers=[f'{sts}-{i}' for i in range(3)]
    bs=lambda i: f'{brokers[i]}.{inst}-svc.{ns}.svc.cluster.local:9093'
    topics=[('__consumer_offsets',50,'compression.type=producer,cleanup.policy=compact,segment.bytes=104857600'),('orders',6,'retention.ms=604800000,segment.bytes=1073741824'),('payments',3,'min.insync.replicas=2,segment.bytes=1073741824'),('audit-log',12,'cleanup.policy=delete,segment.bytes=1073741824')]
    desc=''
    for t,n,cfg in topics:
        desc+=f"Topic: {t}\tPartitionCount: {n}\tReplicationFactor: 3\tConfigs: {cfg}\n"
        for p in range(n):
            l=p%3; reps=[l,(l+1)%3,(l+2)%3]
            desc+=f"\tTopic: {t}\tPartition: {p}\tLeader: {l}\tReplicas: {','.join(map(str,reps))}\tIsr: {','.join(map(str,reps))}\n"
    groups="\n"+f"{'GROUP':<16}{'TOPIC':<16}{'PARTITION':<11}{'CURRENT-OFFSET':<16}{'LOG-END-OFFSET':<16}{'LAG':<16}{'CONSUMER-ID':<64}{'HOST':<16}CLIENT-ID\n"
    for p in range(6):
        cur=18233+p*911; lag=[7,0,3,0,12,1][p]
        groups+=f"{'order-processor':<16}{'orders':<16}{p:<11}{cur:<16}{cur+lag:<16}{lag:<16}{'consumer-order-processor-1-5f1c9a2e-3b7d-4e2a-9c1f-0d8e6b4a2c1'+str(p%2):<64}{'/192.168.1.'+str(40+p%2):<16}consumer-order-processor-1\n"
    groups+="\n"+f"{'GROUP':<16}{'TOPIC':<16}{'PARTITION':<11}{'CURRENT-OFFSET':<16}{'LOG-END-OFFSET':<16}{'LAG':<16}{'CONSUMER-ID':<64}{'HOST':<16}CLIENT-ID\n"
    for p in range(3):
        groups+=f"{'payment-audit':<16}{'payments':<16}{p:<11}{5120+p:<16}{5120+p:<16}{0:<16}{'consumer-payment-audit-1-0a7e1b2c-9d3f-4c5e-8a6b-7f2e1d0c9b8a':<64}{'/192.168.2.88':<16}consumer-payment-audit-1\n"
    logdirs={'version':1,'brokers':[{'broker':b,'logDirs':[{'logDir':'/var/lib/kafka/data','error':None,'partitions':[
        {'partition':f'{t}-{p}','size':(p+1)*104857+b*1000,'offsetLag':0,'isFuture':False} for t,n,_ in topics[1:] for p in range(n)]}]} for b in range(3)]}
    logdirs_out="Querying brokers for log directories information\nReceived log directory information from brokers 0,1,2\n"+json.dumps(logdirs,separators=(',',':'))+"\n"
    apis=[('Produce',0,0,8),('Fetch',1,0,11),('ListOffsets',2,0,5),('Metadata',3,0,9),('LeaderAndIsr',4,0,4),('StopReplica',5,0,2),('UpdateMetadata',6,0,6),('ControlledShutdown',7,0,3),('OffsetCommit',8,0,8),('OffsetFetch',9,0,7),
          ('FindCoordinator',10,0,3),('JoinGroup',11,0,7),('Heartbeat',12,0,4),('LeaveGroup',13,0,4),('SyncGroup',14,0,5),('DescribeGroups',15,0,5),('ListGroups',16,0,3),('SaslHandshake',17,0,1),('ApiVersions',18,0,3),
          ('CreateTopics',19,0,5),('DeleteTopics',20,0,4),('DescribeConfigs',32,0,2),('AlterConfigs',33,0,1),('DescribeLogDirs',35,0,1),('CreatePartitions',37,0,2)]
    api_out=''
    for b in range(3):
        api_out+=f"{bs(b)} (id: {b} rack: null) -> (\n"+",\n".join(f"\t{n}({k}): {lo} to {hi} [usable: {hi}]" for n,k,lo,hi in apis)+"\n)\n"
    # Nothing is under-replicated: kafka-topics prints nothing (checked before the plain --describe).
    exec_=[{'pod':f'{sts}-[0-9]+','container':'k8skafka','regex':r'kafka-topics(\.sh)? .*--describe.*--under-replicated-partitions','stdout':''},
           {'pod':f'{sts}-[0-9]+','container':'k8skafka','regex':r'kafka-topics(\.sh)? .*--describe','stdout':desc},
           {'pod':f'{sts}-[0-9]+','container':'k8skafka','regex':r'kafka-consumer-groups(\.sh)? .*--describe','stdout':groups},
           {'pod':f'{sts}-[0-9]+','container':'k8skafka','regex':r'kafka-log-dirs(\.sh)? .*--describe','stdout':logdirs_out},
           {'pod':f'{sts}-[0-9]+','container':'k8skafka','regex':r'kafka-broker-api-versions(\.sh)? ','stdout':api_out},
           {'pod':f'{sts}-[0-9]+','container':'k8skafka','regex':r'kafka-topics(\.sh)? .*--list','stdout':''.join(t+'\n' for t,_,_ in topics)}]+zk_exec
    logs=[]
    for i,b in enumerate(brokers):
        logs.append({'pod':b,'container':'k8skafka','generate':{'lines':2000,'seed':500+i,'intervalMs':1500,'templates':[
            "[{time}] INFO [GroupCoordinator "+str(i)+"]: Preparing to rebalance group {word}-{word} in state PreparingRebalance with old generation {int} (__consumer_offsets-{int}) (reason: Adding new member) (kafka.coordinator.group.GroupCoordinator)",
            "[{time}] INFO [Log partition=orders-{int}, dir=/var/lib/kafka/data] Rolled new log segment at offset {int} in {int} ms. (kafka.log.Log)",
            "[{time}] INFO [ProducerStateManager partition=payments-{int}] Writing producer snapshot at offset {int} (kafka.log.ProducerStateManager)",
            "[{time}] {level} [ReplicaFetcher replicaId="+str(i)+", leaderId={int}, fetcherId=0] {word} {word} for partition audit-log-{int} (kafka.server.ReplicaFetcherThread)",
            "[{time}] INFO [GroupMetadataManager brokerId="+str(i)+"] Removed 0 expired offsets in {int} milliseconds. (kafka.coordinator.group.GroupMetadataManager)"]}})
        logs.append({'pod':b,'container':'kafka-node-exporter','inline':
            f"time=\"2026-11-27T08:{9+i:02d}:03Z\" level=info msg=\"Starting node_exporter (version=0.18.1, branch=HEAD, revision=3db77732e925c08f675d7404a8c46466b2ece83e)\" source=\"node_exporter.go:156\"\n"
            f"time=\"2026-11-27T08:{9+i:02d}:03Z\" level=info msg=\"Build context (go=go1.12.5, user=root@b50852a1acba, date=20190604-16:41:18)\" source=\"node_exporter.go:157\"\n"
            f"time=\"2026-11-27T08:{9+i:02d}:03Z\" level=info msg=\"Enabled collectors:\" source=\"node_exporter.go:97\"\n"
            f"time=\"2026-11-27T08:{9+i:02d}:03Z\" level=info msg=\"Listening on :9096\" source=\"node_exporter.go:170\"\n"})
    logs+=zk_logs
    for l in logs: l.pop('namespace',None)
    logs.append(dict({'namespace':'kudo-system','pod':'kudo-controller-manager-0','container':'manager'},**glog([t.replace('production/analytics-cassandra','kafka/kafka') for t in KUDO_TEMPLATES]+["{time} InstanceController: Instance kafka/kafka-zookeeper is a dependency of kafka/kafka; its plan deploy is COMPLETE"],9,3000)))
    props=render(open(f'{FX}/kudo-operators/kafka/templates/server.properties.yaml').read(),P,inst,ns,'kafka').split('server.properties: |',1)[-1].replace('\n    ','\n').strip()+"\n"
    files=[{'pod':f'{sts}-[0-9]+','container':'k8skafka','path':'/config/server.properties','content':props}]
    # bootstrap.sh writes ${KAFKA_HOME}/server.properties: the ConfigMap's plus the broker's own settings.
    for i,b in enumerate(brokers):
        files.append({'pod':b,'container':'k8skafka','path':'/opt/kafka/server.properties','content':props+f"broker.id={i}\nadvertised.listeners=INTERNAL://{bs(i)}\n"})
    for i,b in enumerate(brokers):
        for f,c in zip(['server.log','controller.log','state-change.log'], appfiles.kafka_logs(i, brokers, zk_hosts)):
            files.append({'pod':b,'container':'k8skafka','path':f'/var/lib/kafka/data/{f}','content':c})
    files+=zk_files
    allobjs+=appfiles.namespace_policy(ns, allobjs, quota=False, limits=False)
    return 'kafka', ns, allobjs, logs, exec_, files

def kafka_zookeeper_down_scenario():
    """Kafka losing its ZooKeeper: the kafka scenario at 08:47, after the ZooKeeper servers ran
    out of heap at 08:45 (OOMKilled by their 1Gi limit, in CrashLoopBackOff since) and the
    brokers' ZooKeeper sessions expired at 08:46. The brokers still run: what a support
    engineer sees first is Kafka's clients failing, not the ZooKeeper child instance."""
    _, ns, objs, logs, exec_, files = kafka_scenario()
    zk='kafka-zookeeper-zookeeper'; zk_pods=[f'{zk}-{i}' for i in range(3)]
    events=[]
    for o in objs:
        name=o['metadata']['name']
        if o['kind']=='Pod' and name in zk_pods:
            i=zk_pods.index(name); st=o['status']
            c=st['containerStatuses'][0]
            c.update(ready=False, started=False, restartCount=5+i,
                     state={'waiting':{'reason':'CrashLoopBackOff','message':f'back-off 2m40s restarting failed container=kubernetes-zookeeper pod={name}_{ns}({uuid("Pod",ns,name)})'}},
                     lastState={'terminated':{'exitCode':137,'reason':'OOMKilled','startedAt':ts(44,10+i),'finishedAt':ts(45,2+7*i),'containerID':f"containerd://{hexid('cid',name,'zk-prev')}"}})
            st['conditions']=pod_conditions(False,3+i,45)
            for x in st['conditions'][2:4]: x['message']='containers with unready status: [kubernetes-zookeeper]'
            events.append(event(ns,'Pod',name,'BackOff',f'Back-off restarting failed container kubernetes-zookeeper in pod {name}_{ns}({uuid("Pod",ns,name)})',
                                typ='Warning',minute=45,count=2,host=o['spec']['nodeName'],field='spec.containers{kubernetes-zookeeper}'))
        if o['kind']=='StatefulSet' and name==zk:
            o['status'].update(readyReplicas=0, availableReplicas=0)
    objs+=events
    # A container waiting to restart has no current log; its previous one ends with the heap.
    logs=[l for l in logs if not (l['pod'] in zk_pods and l['container']=='kubernetes-zookeeper')]
    for i,p in enumerate(zk_pods):
        t=lambda sec, ms: f"2026-11-27 08:{44+sec//60:02d}:{sec%60:02d},{ms:03d}"
        logs.append({'pod':p,'container':'kubernetes-zookeeper','previous':True,'inline':
            f"{t(10+i,118)} [myid:{i+1}] - INFO  [main:QuorumPeerMain@151] - Starting quorum peer\n"
            f"{t(11+i,402)} [myid:{i+1}] - INFO  [main:FileTxnSnapLog@404] - Snapshot loaded in 812 ms, highest zxid is 0x10000c8e2, digest is 2411958124\n"
            f"{t(30+i,915)} [myid:{i+1}] - WARN  [SyncThread:{i+1}:SyncRequestProcessor@188] - Too busy to snap, skipping\n"
            f"{t(48+i,207)} [myid:{i+1}] - WARN  [JvmPauseMonitor::JvmPauseMonitor$Monitor@146] - Detected pause in JVM or host machine (eg GC): pause of approximately 4100ms\n"
            f"{t(62+7*i,14)} [myid:{i+1}] - ERROR [CommitProcWorkThread-1:ZooKeeperCriticalThread@49] - Severe unrecoverable error, from thread : CommitProcWorkThread-1\n"
            "java.lang.OutOfMemoryError: Java heap space\n"
            "\tat java.util.Arrays.copyOf(Arrays.java:3236)\n"
            "\tat org.apache.zookeeper.server.DataTree.serializeNode(DataTree.java:1234)\n"
            "\tat org.apache.zookeeper.server.FinalRequestProcessor.processRequest(FinalRequestProcessor.java:512)\n"})
    zk_hosts=','.join(f'{zk}-{i}.kafka-zookeeper-hs:2181' for i in range(3))
    def lost(i):
        sid=f"0x{i+1}00000b1c9a000{i+1}"; peer=zk_pods[(i+1)%3]; ip=f"192.168.{(i+1)%3}.{60+((i+1)%3)*7}"
        t=lambda m, sec, ms: f"[2026-11-27 08:{m:02d}:{sec:02d},{ms:03d}]"
        return (f"{t(45,9+i,418)} WARN Client session timed out, have not heard from server in 6668ms for sessionid {sid} (org.apache.zookeeper.ClientCnxn)\n"
                f"{t(45,9+i,419)} INFO Client session timed out, have not heard from server in 6668ms for sessionid {sid}, closing socket connection and attempting reconnect (org.apache.zookeeper.ClientCnxn)\n"
                f"{t(45,10+i,602)} INFO Opening socket connection to server {peer}.kafka-zookeeper-hs/{ip}:2181. Will not attempt to authenticate using SASL (unknown error) (org.apache.zookeeper.ClientCnxn)\n"
                f"{t(45,10+i,603)} WARN Session {sid} for server {peer}.kafka-zookeeper-hs/{ip}:2181, unexpected error, closing socket connection and attempting reconnect (org.apache.zookeeper.ClientCnxn)\n"
                "java.net.ConnectException: Connection refused\n"
                f"{t(46,2+i,117)} WARN Unable to reconnect to ZooKeeper service, session {sid} has expired (org.apache.zookeeper.ClientCnxn)\n"
                f"{t(46,2+i,118)} INFO [ZooKeeperClient Kafka server] Session expired. (kafka.zookeeper.ZooKeeperClient)\n"
                f"{t(46,2+i,121)} INFO [ZooKeeperClient Kafka server] Initializing a new session to {zk_hosts}. (kafka.zookeeper.ZooKeeperClient)\n"
                f"{t(46,20+i,130)} ERROR [KafkaServer id={i}] Fatal error while waiting for the ZooKeeper session to be re-established (kafka.server.KafkaServer)\n"
                "kafka.zookeeper.ZooKeeperClientTimeoutException: Timed out waiting for connection while in state: CONNECTING\n")
    brokers=[f'kafka-kafka-{i}' for i in range(3)]
    out=[]
    for l in logs:
        if l['pod'] in brokers and l['container']=='k8skafka':
            i=brokers.index(l['pod'])
            server=next(f['content'] for f in files if f['pod']==l['pod'] and f['path'].endswith('/server.log'))
            l={'pod':l['pod'],'container':'k8skafka','inline':server+lost(i)}
        out.append(l)
    for f in files:
        if f['pod'] in brokers and f['path'].endswith('/server.log'):
            f['content']+=lost(brokers.index(f['pod']))
    return 'kafka-zookeeper-down', ns, objs, out, exec_, files

# ---------- write ----------
PROV_OP=lambda op,src: f"# from {src}, {op} operator package: operator.yaml, params.yaml and templates/ (Apache-2.0),\n# turned into the Operator and OperatorVersion objects KUDO creates when the package is installed.\n"
HDR_GEN="# Built for kudo-diag's simulated cluster from real KUDO material in the fixtures (Apache-2.0):\n"

def write_scenario(name, ns, objs, logs, exec_, files, desc, object_files, header_src, permissions=None, faults=None, http=None):
    seen=set(); uniq=[]
    for o in objs:
        k=(o['kind'],o['metadata'].get('namespace'),o['metadata']['name'])
        if k not in seen: seen.add(k); uniq.append(o)
    objs=uniq
    op_objs=[o for o in objs if o['kind'] in ('Operator','OperatorVersion')]
    rest=[o for o in objs if o['kind'] not in ('Operator','OperatorVersion')]
    base=name.replace('broken-','')
    sc={'name':name,'description':desc,'namespace':ns,'objectFiles':object_files+[f'{name}-objects.yaml' if name in ('kafka','zookeeper') else f'{name}-objects.yaml'],
        'logs':logs+(kube_system_logs() if 'cluster.yaml' in object_files else []),'exec':exec_}
    if files: sc['files']=files
    if http: sc['http']=http
    if permissions: sc['permissions']=permissions
    write(f'{name}-objects.yaml', HDR_GEN+header_src, dump_docs(rest))
    write(f'{name}.yaml', f"# The built-in `{name}` scenario of kudo-diag's simulated cluster (format: docs/scenarios.md).\n"+HDR_GEN+header_src, dump(sc))
    return op_objs

cass_src="#   mesosphere/kudo-cassandra-operator (operator package, docs/ for nodetool output),\n#   kudobuilder/kudo (test/e2e planStatus shapes, config/crds).\n"
name, ns, objs, logs, exec_, files = cassandra_scenario(False)
opo=write_scenario(name, ns, objs, logs, exec_, files, "A healthy KUDO Cassandra 3.11.7 instance (operator 1.0.3) with 3 nodes in namespace production, the KUDO manager in kudo-system, and nodetool outputs.",
                   ['kudo-crds.yaml','cluster.yaml','kudo-system.yaml','cassandra-operator.yaml'], cass_src)
write('cassandra-operator.yaml', PROV_OP('cassandra','mesosphere/kudo-cassandra-operator'), dump_docs(opo))
name, ns, objs, logs, exec_, files = cassandra_scenario(True)
write_scenario(name, ns, objs, logs, exec_, files, "KUDO Cassandra after NODE_MEM_MIB was raised to 16384: node-1 OOMKilled in CrashLoopBackOff, node-2 Pending (3 Insufficient memory), the deploy plan in FATAL_ERROR, nodetool showing two nodes DN.",
               ['kudo-crds.yaml','cluster.yaml','kudo-system.yaml','cassandra-operator.yaml'], cass_src)
zk_src="#   kudobuilder/operators repository/zookeeper (operator package),\n#   kudobuilder/kudo pkg/kudoctl/cmd/diagnostics/testdata (names, namespace, kudo-system objects).\n"
name, ns, objs, logs, exec_, files = zookeeper_scenario()
opo=write_scenario(name, ns, objs, logs, exec_, files, "A KUDO ZooKeeper 3.6.2 ensemble of 3 (operator 0.3.3) in my-namespace, as in KUDO's own diagnostics test data, with four-letter-word outputs and the AdminServer on port 8080.",
                   ['kudo-crds.yaml','cluster.yaml','kudo-system.yaml','zookeeper-operator.yaml'], zk_src,
                   http=zk_admin_http(ns,[f'zookeeper-instance-zookeeper-{i}' for i in range(3)],'zookeeper-instance'))
write('zookeeper-operator.yaml', PROV_OP('zookeeper','kudobuilder/operators repository/zookeeper'), dump_docs(opo))
k_src="#   kudobuilder/operators repository/kafka and repository/zookeeper (operator packages).\n"
name, ns, objs, logs, exec_, files = kafka_scenario()
opo=write_scenario(name, ns, objs, logs, exec_, files, "A KUDO Kafka 2.5.1 instance with 3 brokers in namespace kafka whose ZooKeeper is a child instance (kafka-zookeeper), with outputs of the Kafka tools.",
                   ['kudo-crds.yaml','cluster.yaml','kudo-system.yaml','kafka-operator.yaml'], k_src)
write('kafka-operator.yaml', PROV_OP('kafka and zookeeper','kudobuilder/operators repository/kafka and repository/zookeeper'), dump_docs(opo))
name, ns, objs, logs, exec_, files = kafka_zookeeper_down_scenario()
write_scenario(name, ns, objs, logs, exec_, files, "KUDO Kafka losing its ZooKeeper: the ZooKeeper child instance's servers OOMKilled at 08:45 and in CrashLoopBackOff, the brokers' ZooKeeper sessions expired at 08:46.",
               ['kudo-crds.yaml','cluster.yaml','kudo-system.yaml','kafka-operator.yaml'], k_src)
write('cluster.yaml', "# A 3-node cluster (nodes, default storage class, namespaces) shared by kudo-diag's built-in scenarios.\n# Written for kudo-diag; shapes follow what a v1.32 API server returns.\n",
      dump_docs(cluster_objects(['production','my-namespace','kafka'])))
write('kudo-system.yaml', "# The KUDO manager in kudo-system, shared by kudo-diag's built-in scenarios.\n# Names and labels from kudobuilder/kudo pkg/kudoctl/cmd/diagnostics/testdata and config/ (Apache-2.0).\n",
      dump_docs(kudo_system()))
crd_text=''.join(open(f'{FX}/kudo-crds/{f}').read().rstrip()+'\n---\n' for f in ['kudo.dev_operators.yaml','kudo.dev_operatorversions.yaml','kudo.dev_instances.yaml'])
write('kudo-crds.yaml', "# from kudobuilder/kudo, config/crds (Apache-2.0): the CRDs of Operator, OperatorVersion and Instance, unchanged.\n", crd_text)
# The fault scenarios: the healthy instances above, each with one real fault planted (faults.py).
import faults
faults.write_all(sys.modules[__name__])
print('done')
