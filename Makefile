# govarc: `make demo` runs the nightly archiving job on samples/, `make test` runs the suite.
# Both create .venv/ and install what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# fonts-wqy-microhei: the CJK font tests/test_make_samples.py regenerates the samples with
# openssh-server, openssh-client: the real sshd (and ssh-keygen) the SFTP transport tests run against
# chromium: the headless browser tests/report opens `govarc report`'s page in
DEB_PACKAGES := libmagic1 openssl fonts-wqy-microhei openssh-server openssh-client chromium

.PHONY: demo test deps venv bench clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,samples]'
	touch $(STAMP)

venv: deps $(STAMP)

DEMO := build/demo
DEMO_ARCHIVES := build/demo-archives
DEMO_EXCHANGE := build/demo-exchange
DEMO_PASSPHRASE := GOVARC_KEY_PASSPHRASE=demo-only-passphrase
GOVARC := $(DEMO_PASSPHRASE) $(VENV)/bin/govarc --home $(DEMO)
ARCHIVES := $(DEMO_PASSPHRASE) $(VENV)/bin/govarc --home $(DEMO_ARCHIVES)
DEMO_AGENCIES := SZF CZJ DAJ
ARCHIVES_CODE := DAG
ARCHIVES_NAME := 柳州市档案馆
# the document exchange: the hub (a folder), CZJ's OA drop folder, what SZF sends and DAJ's reason to return it
DEMO_HUB := build/demo-hub
DEMO_OA := build/demo-oa
DEMO_REPORT := build/demo-report
DEMO_GROUP := 全市各委办局
DEMO_DOC := 0012-WS·2024-D30-BGS-0002
DEMO_REASON := 不属于本单位办理范围，请改送市政务服务中心
# prints the id of SZF's message of the document named as its argument, read from `exchange status --json`
MESSAGE_OF := $(PY) -c 'import json, sys; print(*[m["id"] for m in json.load(sys.stdin)["messages"] if m["archival_code"] == sys.argv[1]][:1])'

# The nightly archiving run on the sample city, then the transfer to the city's archives (移交与接收)
# over a folder transport: the agencies' nightly job ingests, packages and transfers; the archives'
# nightly job accepts and answers with signed receipts; the agencies import them. Each side trusts
# the other's demo CA. Then a round of document exchange (公文交换) through a folder hub: SZF sends
# one of its documents to CZJ (主送) and the group 全市各委办局 (抄送, so DAJ); the recipients receive
# it (CZJ's through its OA drop folder), CZJ signs for it (签收), DAJ returns it (退回), and SZF's
# `exchange status` shows it. Last, for the auditors, the inventory (档案目录) of every agency's
# records goes to build/demo-inventory.xlsx and .csv and the report to build/demo-report/ (both
# written anew on each run). Safe to run again: nothing else changes the second time (the send is
# skipped when SZF's catalog has a message of that document; the answers are the same ones).
demo: venv
	@$(GOVARC) init --config samples/city.toml
	@test -f $(DEMO)/pki/ca.pem || $(GOVARC) pki init-ca --name "柳州市 演示CA (demo only)"
	@for c in $(DEMO_AGENCIES); do test -f $(DEMO)/keys/$$c/cert.pem || $(GOVARC) pki issue $$c; done
	@mkdir -p $(DEMO_EXCHANGE) $(DEMO_HUB) $(DEMO_OA)/CZJ
	@$(ARCHIVES) init --archives $(ARCHIVES_CODE) --name $(ARCHIVES_NAME) --inbox ../demo-exchange
	@test -f $(DEMO_ARCHIVES)/pki/ca.pem || $(ARCHIVES) pki init-ca --name "$(ARCHIVES_NAME) 演示CA (demo only)"
	@test -f $(DEMO_ARCHIVES)/keys/$(ARCHIVES_CODE)/cert.pem || $(ARCHIVES) pki issue $(ARCHIVES_CODE)
	@$(ARCHIVES) --quiet pki trust add $(DEMO)/pki/ca.pem
	@$(GOVARC) --quiet pki trust add $(DEMO_ARCHIVES)/pki/ca.pem
	@$(GOVARC) transfer configure --archives $(ARCHIVES_CODE) --name $(ARCHIVES_NAME) --url ../demo-exchange
	@$(GOVARC) exchange configure --url ../demo-hub --group $(DEMO_GROUP)=CZJ,DAJ --oa-drop CZJ=../demo-oa/CZJ
	@echo "== the agencies' nightly job: ingest, package, transfer, receipts, exchange"
	@$(GOVARC) --verbose nightly
	@echo "== the archives' nightly job: accept"
	@$(ARCHIVES) --verbose nightly
	@echo "== the agencies import the receipts"
	@$(GOVARC) transfer receipts
	@$(GOVARC) status
	@$(GOVARC) transfer status --summary
	@$(GOVARC) --quiet verify $(DEMO)/store/*/* && echo "every package in $(DEMO)/store verified: 有效 VALID"
	@echo "== the document exchange: SZF sends $(DEMO_DOC) to CZJ (主送) and $(DEMO_GROUP) (抄送)"
	@sent=$$($(GOVARC) --json exchange status --agency SZF | $(MESSAGE_OF) '$(DEMO_DOC)') && \
	  if [ -n "$$sent" ]; then echo "SZF: $(DEMO_DOC) was sent already, message $$sent"; \
	  else $(GOVARC) send '$(DEMO_DOC)' --agency SZF --to CZJ --cc $(DEMO_GROUP) --urgency 加急 --deadline 7d; fi
	@echo "== the recipients receive it (CZJ through its OA drop folder $(DEMO_OA)/CZJ), CZJ signs for it, DAJ returns it"
	@$(GOVARC) receive
	@mid=$$($(GOVARC) --json exchange status --agency SZF | $(MESSAGE_OF) '$(DEMO_DOC)') && \
	  $(GOVARC) sign-for $$mid --agency CZJ && \
	  $(GOVARC) return $$mid --agency DAJ --reason "$(DEMO_REASON)"
	@echo "== SZF's supervision (电子监察): who signed for it, who returned it"
	@$(GOVARC) exchange status --agency SZF
	@echo "== the inventory (档案目录) of every agency's records, for the auditors"
	@$(GOVARC) inventory --format xlsx --out build/demo-inventory.xlsx --force
	@$(GOVARC) inventory --format csv --out build/demo-inventory.csv --force
	@echo "== the report for auditors (统计报告): charts and tables of records, states, exchange, transfers, warnings"
	@$(GOVARC) --quiet report --out $(DEMO_REPORT) --force && echo "report: $(DEMO_REPORT)/index.html (open it in a browser)"

test: venv
	$(PY) -m pytest -n 2

# Every table of the performance issue in one run (about 15 min on a quiet 2-core machine): build,
# verify and start-up; fixity audits of many packages; the nightly job; transfer; exchange.
bench: venv
	$(PY) bench/package_bench.py --repeat 3
	$(PY) bench/fixity_bench.py --packages 2000 --repeat 3
	$(PY) bench/nightly_bench.py --n 2000
	$(PY) bench/transfer_bench.py --small 500 --large 6 --large-mb 50 --repeat 3
	$(PY) bench/exchange_bench.py --recipients 130 --mb 10 --repeat 3
	$(PY) bench/inventory_bench.py --records 1000000
	$(PY) bench/audit_bench.py

clean:
	rm -rf build $(VENV)
