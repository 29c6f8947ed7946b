"""Generate the sample city in samples/: three agencies' drop folders and the bad-input folders.

Run from the repository root: ``.venv/bin/python samples/make_samples.py``. The outputs are
committed, so nobody needs to run this; it is here so that they can be remade and checked.

Needs reportlab, python-docx, pillow, openpyxl and pypdf (the ``samples`` extra) and a CJK
TrueType font for the PDF/A samples and the scans (Debian: ``apt-get install fonts-wqy-microhei``).
Ordinary PDFs use reportlab's built-in CID font STSong-Light, which is not embedded.

Deterministic: fixed dates, fixed PDF creation dates and IDs, fixed ZIP timestamps, seeded noise;
re-running produces identical bytes (with the same library versions). Everything here is fictional.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import random
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

HERE = Path(__file__).resolve().parent

# Where Debian's CJK TrueType font packages put their files; else fontconfig is asked. The font
# needs TrueType outlines (reportlab cannot subset CFF-based fonts such as Noto Sans CJK).
CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)

# ---------------------------------------------------------------------------------------------
# GB/T 9704-2012 page geometry, in millimetres, origin at the top-left corner of an A4 page.
PAGE_W, PAGE_H = 210.0, 297.0
LEFT, TOP, TEXT_W = 28.0, 37.0, 156.0
BOTTOM = 262.0  # bottom edge of the type area (版心)
PT = 25.4 / 72  # millimetres per point
BODY_PT = 15.0  # 三号 is 16 pt; slightly smaller so a one-page notice fits with its 版记
LINE = 7.8  # line pitch of the body
RED = (0.85, 0.08, 0.08)
BLACK = (0.0, 0.0, 0.0)
TZ = dt.timezone(dt.timedelta(hours=8))
ZIP_TIME = (2024, 1, 1, 0, 0, 0)

OFD_NS = "http://www.ofdspec.org/2016"
RECORD_NS = "urn:govarc:record:1"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def fail(message: str) -> None:
    print(f"make_samples: {message}", file=sys.stderr)
    raise SystemExit(1)


def cjk_font() -> Path:
    for path in CJK_FONTS:
        if path.is_file():
            return path
    try:
        listed = subprocess.run(["fc-list", ":lang=zh:fontformat=TrueType", "file"], capture_output=True,
                                text=True, check=False).stdout
    except OSError:
        listed = ""
    found = sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.strip())
    if found:
        return Path(found[0])
    fail(
        "no CJK TrueType font found (needed to embed a font in the PDF/A samples and to draw the scans); "
        "install one, e.g. `apt-get install fonts-wqy-microhei`. Looked for: "
        + ", ".join(str(p) for p in CJK_FONTS)
    )
    raise AssertionError  # unreachable


def cn_date(d: dt.date) -> str:
    """成文日期 as printed: 2024年3月5日 (no leading zeros, per GB/T 9704)."""
    return f"{d.year}年{d.month}月{d.day}日"


def em(text: str) -> float:
    """Width of ``text`` in ems: CJK and full-width punctuation 1, Latin letters and digits 0.5."""
    return sum(0.5 if ord(c) < 0x2000 else 1.0 for c in text)


_NO_LINE_START = set("，。、；：？！）》」』〕”’…%")


def wrap(text: str, width_em: float, first_indent: float = 0.0) -> list[str]:
    """Break CJK text into lines of at most ``width_em`` (closing punctuation may hang)."""
    lines: list[str] = []
    cur, w = "", first_indent
    for token in re.findall(r"[A-Za-z0-9.%]+|.", text):  # numbers are not split across lines
        cw = em(token)
        if w + cw > width_em + 1e-6 and cur and token[0] not in _NO_LINE_START:
            lines.append(cur)
            cur, w = "", 0.0
        cur += token
        w += cw
    if cur:
        lines.append(cur)
    return lines


# ---------------------------------------------------------------------------------------------
# The documents


@dataclass(frozen=True)
class Attachment:
    """附件: a file beside the main document, in the same drop folder."""

    path: str
    title: str
    kind: str  # "pdf" or "xlsx"
    rows: tuple[tuple[str, ...], ...] = ()
    paragraphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Doc:
    """One official document (公文) of the sample city."""

    key: str
    agency: str
    fmt: str  # pdf, pdfa1, pdfa2, ofd, docx, jpeg, tiff
    path: str
    number: str
    mark: tuple[str, ...]  # 发文机关标志, one line per organ (joint documents have several)
    title: str
    addressee: str
    body: tuple[str, ...]
    signers: tuple[str, ...]
    date: dt.date
    retention: str
    classification: str
    keywords: tuple[str, ...]
    cc: str = "市委办公室，市人大常委会办公室，市政协办公室。"
    printer: str = ""
    attachments: tuple[Attachment, ...] = ()
    urgency: str = ""
    secret: str = ""  # 密级和保密期限 printed top-left, e.g. 秘密★1年
    signatory: str = ""  # 签发人 (上行文)
    is_letter: bool = False  # 函: the mark carries no 文件
    unit: str = ""
    # metadata variations
    omit: tuple[str, ...] = ()  # "number" and/or "date": leave out of the metadata
    meta_date: dt.date | None = None  # a metadata date that disagrees with the printed one
    meta_date_text: bool = False  # give the date as 2024年3月5日 rather than ISO
    english_keys: bool = False
    xml_sidecar: bool = False

    @property
    def issuer(self) -> str:
        return "、".join(self.signers)

    @property
    def print_organ(self) -> str:
        return self.printer or self.signers[0]


SZF_MARK_GOV = ("柳州市人民政府",)
SZF_MARK_OFFICE = ("柳州市人民政府办公室",)
GOV = ("柳州市人民政府",)
OFFICE = ("柳州市人民政府办公室",)
CZJ = ("柳州市财政局",)
DAJ = ("柳州市档案局",)

WORK_PLAN_ROWS = (
    ("序号", "工作任务", "牵头单位", "完成时限"),
    ("1", "推进工业高质量发展，实施重点技改项目", "市工业和信息化局", "12月底"),
    ("2", "深化“放管服”改革，优化营商环境", "市行政审批局", "12月底"),
    ("3", "加快城市更新，推进老旧小区改造", "市住房和城乡建设局", "11月底"),
    ("4", "推进政务数据共享和电子文件归档", "市大数据发展局", "10月底"),
    ("5", "抓好就业、教育、医疗等民生实事", "市人力资源和社会保障局", "12月底"),
)

DOCS: tuple[Doc, ...] = (
    # ---------------------------------------------------------------- SZF: sidecars
    Doc(
        key="S01", agency="SZF", fmt="jpeg", path="柳政发〔2007〕12号.jpg", number="柳政发〔2007〕12号",
        mark=SZF_MARK_GOV, title="柳州市人民政府关于印发柳州市电子政务建设管理暂行办法的通知",
        addressee="各县人民政府，市直各委、办、局：",
        body=(
            "《柳州市电子政务建设管理暂行办法》已经市人民政府同意，现印发给你们，请认真贯彻执行。",
            "各单位要按照统一规划、统一标准、资源共享的原则，推进本部门办公自动化系统与全市公文交换平台的对接，逐步实现公文网上流转、网上签收和网上归档。",
            "执行中遇到的问题，请及时向市人民政府办公室反映。",
        ),
        signers=GOV, printer="柳州市人民政府办公室", date=dt.date(2007, 3, 5), retention="Y", classification="公开",
        keywords=("电子政务", "管理办法", "通知"),
    ),
    Doc(
        key="S02", agency="SZF", fmt="pdf", path="柳政发〔2024〕5号.pdf", number="柳政发〔2024〕5号",
        mark=SZF_MARK_GOV, title="柳州市人民政府关于印发2024年政府工作报告重点工作分工方案的通知",
        addressee="各县、区人民政府，市人民政府各组成部门、各直属机构：",
        body=(
            "现将《2024年政府工作报告重点工作分工方案》印发给你们，请结合实际认真抓好落实。",
            "各牵头单位要对照分工方案细化工作措施，明确责任人和完成时限，每季度末将进展情况报送市人民政府办公室。",
            "市人民政府办公室将对重点工作落实情况进行跟踪督办，督办结果纳入年度绩效考核。",
        ),
        signers=GOV, printer="柳州市人民政府办公室", date=dt.date(2024, 2, 20), retention="Y", classification="公开",
        keywords=("政府工作报告", "分工", "通知"),
        attachments=(
            Attachment("柳政发〔2024〕5号_附件.pdf", "2024年政府工作报告重点工作分工方案", "pdf", rows=WORK_PLAN_ROWS),
        ),
    ),
    Doc(
        key="S03", agency="SZF", fmt="pdf", path="柳政办发〔2024〕11号.pdf", number="柳政办发〔2024〕11号",
        mark=SZF_MARK_OFFICE, title="柳州市人民政府办公室关于进一步加强全市公文交换管理工作的通知",
        addressee="各县、区人民政府，市直各单位：",
        body=(
            "为提高公文运转效率，保障公文交换安全有序，经市人民政府同意，现就进一步加强全市公文交换管理工作通知如下。",
            "一、各单位应当通过全市公文交换平台收发公文，收到公文后应当在一个工作日内完成签收，特急件应当随到随签。",
            "二、各单位要指定专人负责公文交换工作，人员变动时应当及时办理交接，并报市人民政府办公室备案。",
            "三、市人民政府办公室将定期通报各单位公文签收情况，对超期未签收的单位予以督促。",
        ),
        signers=OFFICE, date=dt.date(2024, 3, 5), retention="D30", classification="公开",
        keywords=("公文交换", "签收", "通知"), omit=("number", "date"),
    ),
    Doc(
        key="S04", agency="SZF", fmt="pdfa1", path="柳政办发〔2024〕15号.pdf", number="柳政办发〔2024〕15号",
        mark=SZF_MARK_OFFICE, title="柳州市人民政府办公室关于做好2024年度文书档案归档工作的通知",
        addressee="市直各单位：",
        body=(
            "根据《中华人民共和国档案法》和有关规定，现就做好2024年度文书档案归档工作通知如下。",
            "一、各单位办理完毕的公文应当及时归档，电子文件与纸质文件同步归档，归档范围按照本单位文件材料归档范围和档案保管期限表执行。",
            "二、电子文件应当以版式文件格式归档，元数据应当完整，归档前应当进行真实性、完整性、可用性和安全性检测。",
            "三、各单位应当于次年6月底前完成上一年度文件的整理归档工作。",
        ),
        signers=OFFICE, date=dt.date(2024, 3, 20), retention="D30", classification="公开",
        keywords=("文书档案", "归档", "通知"),
    ),
    Doc(
        key="S05", agency="SZF", fmt="pdf", path="柳政函〔2024〕21号.pdf", number="柳政函〔2024〕21号",
        mark=SZF_MARK_GOV, is_letter=True, title="柳州市人民政府关于同意设立柳州市政务数据共享中心的批复",
        addressee="市大数据发展局：",
        body=(
            "你局《关于设立柳州市政务数据共享中心的请示》收悉。经研究，现批复如下。",
            "一、同意设立柳州市政务数据共享中心，为你局所属公益一类事业单位，不增加编制总量。",
            "二、政务数据共享中心主要承担全市政务数据目录编制、共享交换平台运行维护等工作。",
            "三、请你局按照有关规定抓紧做好组建工作。",
        ),
        signers=GOV, printer="柳州市人民政府办公室", date=dt.date(2024, 4, 9), retention="D30", classification="内部",
        keywords=("政务数据", "机构设置", "批复"), cc="市委机构编制委员会办公室，市财政局。", omit=("number",),
    ),
    Doc(
        key="S06", agency="SZF", fmt="docx", path="柳政办函[2024]33号.docx", number="柳政办函[2024]33号",
        mark=SZF_MARK_OFFICE, is_letter=True, urgency="加急", title="柳州市人民政府办公室关于召开全市电子政务工作会议的通知",
        addressee="各县、区人民政府办公室，市直各单位：",
        body=(
            "经市人民政府同意，定于近期召开全市电子政务工作会议。现将有关事项通知如下。",
            "一、会议内容：总结全市电子政务工作，部署下一阶段公文交换、电子文件归档和政务数据共享工作。",
            "二、参会人员：各县、区人民政府办公室分管负责同志，市直各单位分管负责同志。",
            "三、请各单位于会前三个工作日将参会人员名单报市人民政府办公室。",
        ),
        signers=OFFICE, date=dt.date(2024, 5, 13), retention="D10", classification="公开",
        keywords=("电子政务", "会议", "通知"),
    ),
    Doc(
        key="S07", agency="SZF", fmt="ofd", path="柳政发(2024)9号.ofd", number="柳政发(2024)9号",
        mark=SZF_MARK_GOV, title="柳州市人民政府关于公布市人民政府部门权责清单的决定",
        addressee="各县、区人民政府，市人民政府各组成部门、各直属机构：",
        body=(
            "为深化简政放权、放管结合、优化服务改革，推进政府职能转变，市人民政府对市人民政府部门权责事项进行了全面梳理，现予以公布。",
            "各部门要严格按照权责清单履行职责，不得擅自增加行政权力事项，不得随意扩大或者缩减行使范围。",
            "权责清单实行动态调整，因法律法规修订需要调整的，由市人民政府统一公布。",
        ),
        signers=GOV, printer="柳州市人民政府办公室", date=dt.date(2024, 3, 28), retention="Y", classification="公开",
        keywords=("权责清单", "决定"),
    ),
    Doc(
        key="S08", agency="SZF", fmt="pdf", path="柳政办发〔2024〕18号.pdf", number="柳政办发〔2024〕18号",
        mark=SZF_MARK_OFFICE, title="柳州市人民政府办公室关于印发柳州市推进政务服务“一网通办”工作方案的通知",
        addressee="各县、区人民政府，市直各单位：",
        body=(
            "《柳州市推进政务服务“一网通办”工作方案》已经市人民政府同意，现印发给你们，请认真组织实施。",
            "各单位要按照任务清单明确的时间节点推进工作，确保年底前依申请政务服务事项网上可办率达到百分之九十以上。",
        ),
        signers=OFFICE, date=dt.date(2024, 4, 2), retention="Y", classification="公开",
        keywords=("政务服务", "一网通办", "工作方案"),
        attachments=(
            Attachment(
                "柳政办发〔2024〕18号_附件1_工作方案.pdf", "柳州市推进政务服务“一网通办”工作方案", "pdf",
                paragraphs=(
                    "一、总体要求。以企业和群众办事“只进一扇门”“最多跑一次”为目标，推进政务服务事项全程网上办理。",
                    "二、主要任务。统一事项标准，统一受理平台，推进电子证照共享互认，推行电子文件单套归档。",
                    "三、保障措施。各单位主要负责同志是第一责任人，市人民政府办公室负责统筹协调和督促检查。",
                ),
            ),
            Attachment(
                "柳政办发〔2024〕18号_附件2_任务清单.xlsx", "柳州市推进政务服务“一网通办”任务清单", "xlsx",
                rows=(
                    ("序号", "任务", "责任单位", "完成时限"),
                    ("1", "编制政务服务事项标准化目录", "市行政审批局", "2024-06-30"),
                    ("2", "建设统一受理平台", "市大数据发展局", "2024-09-30"),
                    ("3", "推进电子证照共享互认", "市大数据发展局", "2024-10-31"),
                    ("4", "推行政务服务电子文件单套归档", "市档案局", "2024-12-31"),
                ),
            ),
        ),
    ),
    Doc(
        key="S09", agency="SZF", fmt="pdf", path="柳政办发〔2024〕22号.pdf", number="柳政办发〔2024〕22号",
        mark=SZF_MARK_OFFICE, title="柳州市人民政府办公室关于做好2024年劳动节期间值班工作的通知",
        addressee="各县、区人民政府，市直各单位：",
        body=(
            "劳动节假期将至，为确保节日期间各项工作正常运转，现就做好值班工作通知如下。",
            "一、各单位要严格执行领导干部带班和工作人员值班制度，值班人员要坚守岗位，保持通讯畅通。",
            "二、遇有重大突发事件，要按照规定第一时间向市人民政府总值班室报告，不得迟报、漏报、瞒报。",
            "三、请各单位于假期前两个工作日将值班安排表报市人民政府总值班室。",
        ),
        signers=OFFICE, date=dt.date(2024, 4, 26), retention="D10", classification="内部",
        keywords=("值班", "节假日", "通知"), meta_date=dt.date(2024, 4, 28),
    ),
    Doc(
        key="S10", agency="SZF", fmt="pdf", path="柳政办发〔2023〕40号.pdf", number="柳政办发〔2023〕40号",
        mark=SZF_MARK_OFFICE, title="柳州市人民政府办公室关于印发柳州市政府信息公开工作年度报告编制规范的通知",
        addressee="各县、区人民政府，市直各单位：",
        body=(
            "为规范全市政府信息公开工作年度报告编制工作，市人民政府办公室制定了《柳州市政府信息公开工作年度报告编制规范》，现印发给你们，请遵照执行。",
            "各单位应当于每年1月31日前向社会公布本单位上一年度政府信息公开工作年度报告，并报市人民政府办公室备案。",
        ),
        signers=OFFICE, date=dt.date(2023, 11, 20), retention="D30", classification="公开",
        keywords=("政府信息公开", "年度报告"), english_keys=True,
    ),
    Doc(
        key="S11", agency="SZF", fmt="pdf", path="柳政发〔2023〕16号.pdf", number="柳政发〔2023〕16号",
        mark=SZF_MARK_GOV, title="柳州市人民政府关于印发柳州市突发事件总体应急预案的通知",
        addressee="各县、区人民政府，市人民政府各组成部门、各直属机构：",
        body=(
            "现将修订后的《柳州市突发事件总体应急预案》印发给你们，请认真贯彻执行。市人民政府2019年6月10日印发的《柳州市突发事件总体应急预案》（柳政发〔2019〕8号）同时废止。",
            "一、各县、区人民政府和市直有关部门要根据总体应急预案，及时修订本地区、本部门的专项应急预案和部门应急预案，并报市人民政府备案。",
            "二、各级各部门要加强应急值守，健全监测预警、信息报告、应急响应、恢复重建等工作机制，提高突发事件应对能力。",
            "三、要加强应急队伍建设和应急物资储备，定期组织开展应急演练，做到常备不懈。",
            "四、要加强应急管理宣传教育，普及预防、避险、自救、互救和减灾等知识，增强公众的忧患意识和自我保护能力。",
            "五、对在突发事件应对工作中迟报、谎报、瞒报、漏报重要情况或者有其他失职、渎职行为的，依法依规追究责任。",
            "六、各县、区人民政府和市直有关部门要加强应急信息化建设，推进监测预警、指挥调度、资源保障等信息系统互联互通，实现应急信息共享。",
            "七、各级各部门要将突发事件应对工作所需经费纳入本级财政预算，保障应急管理工作正常开展。",
            "八、本预案由市应急管理局负责解释，自印发之日起施行。",
        ),
        signers=GOV, printer="柳州市人民政府办公室", date=dt.date(2023, 8, 15), retention="Y", classification="公开",
        keywords=("应急预案", "突发事件", "通知"),
        attachments=(
            Attachment(
                "附件/柳政发〔2023〕16号_附件_应急预案.pdf", "柳州市突发事件总体应急预案", "pdf",
                paragraphs=(
                    "1 总则。为提高政府保障公共安全和处置突发事件的能力，最大程度地预防和减少突发事件及其造成的损害，制定本预案。",
                    "2 组织体系。市人民政府是全市突发事件应对工作的行政领导机关，市应急管理局承担日常工作。",
                    "3 运行机制。包括预防与预警、应急处置与救援、恢复与重建、信息发布等环节。",
                    "4 应急保障。各有关部门按照职责分工做好人力、财力、物资、通信等保障工作。",
                ),
            ),
        ),
    ),
    Doc(
        key="S12", agency="SZF", fmt="pdf", path="柳政办发〔2024〕26号.pdf", number="柳政办发〔2024〕26号",
        mark=SZF_MARK_OFFICE, title="柳州市人民政府办公室关于开展2024年度政务公开工作考核的通知",
        addressee="各县、区人民政府，市直各单位：",
        body=(
            "为推动政务公开工作提质增效，市人民政府决定开展2024年度政务公开工作考核。现将有关事项通知如下。",
            "一、考核对象为各县、区人民政府和市直各单位。",
            "二、考核内容包括主动公开、依申请公开、政策解读、政府网站和政务新媒体管理等方面。",
            "三、考核结果纳入年度绩效考评，并在全市范围内通报。",
        ),
        signers=OFFICE, date=dt.date(2024, 6, 12), retention="D30", classification="公开",
        keywords=("政务公开", "考核"), xml_sidecar=True,
    ),
    # ---------------------------------------------------------------- CZJ: register.xlsx
    Doc(
        key="C01", agency="CZJ", fmt="pdf", path="CZJ-2024-008.pdf", number="柳财预〔2024〕8号",
        mark=CZJ, title="柳州市财政局关于批复2024年市本级部门预算的通知", addressee="市直各预算单位：",
        body=(
            "根据市人民代表大会审查批准的2024年市本级预算，现将你单位2024年部门预算批复如下，请认真执行。",
            "一、各单位要严格按照批复的预算安排支出，不得擅自调整预算，不得无预算、超预算安排支出。",
            "二、各单位应当在批复后二十日内向所属单位批复预算，并按照规定向社会公开。",
            "三、严格执行过紧日子要求，从严从紧控制一般性支出和“三公”经费。",
        ),
        signers=CZJ, date=dt.date(2024, 1, 25), retention="Y", classification="公开",
        keywords=("部门预算", "批复"), cc="市人大常委会预算工作委员会，市审计局。",
        attachments=(
            Attachment(
                "CZJ-2024-008-附件-预算批复表.xlsx", "2024年市本级部门预算批复表", "xlsx",
                rows=(
                    ("单位名称", "基本支出（万元）", "项目支出（万元）", "合计（万元）"),
                    ("柳州市人民政府办公室", "2860.50", "1345.00", "4205.50"),
                    ("柳州市档案局", "1120.30", "680.00", "1800.30"),
                    ("柳州市财政局", "3015.80", "920.00", "3935.80"),
                ),
            ),
        ),
    ),
    Doc(
        key="C02", agency="CZJ", fmt="pdf", path="CZJ-2024-012.pdf", number="柳财预〔2024〕12号",
        mark=CZJ, title="柳州市财政局关于加强2024年预算执行管理的通知", addressee="市直各预算单位：",
        body=(
            "为进一步加强预算执行管理，提高财政资金使用效益，现就有关事项通知如下。",
            "一、各单位要科学编制用款计划，加快预算执行进度，项目资金原则上应当在当年九月底前完成支出。",
            "二、对预算执行进度缓慢的项目，市财政局将按照规定收回资金，统筹用于急需领域。",
            "三、各单位要加强财务内部控制，规范资金支付审核程序。",
        ),
        signers=CZJ, date=dt.date(2024, 3, 12), retention="D30", classification="公开",
        keywords=("预算执行",), cc="市审计局。", omit=("number", "date"),
    ),
    Doc(
        key="C03", agency="CZJ", fmt="pdfa2", path="CZJ-2024-015.pdf", number="柳财行[2024]15号",
        mark=CZJ, title="柳州市财政局关于规范市直单位公务接待费管理的通知", addressee="市直各单位：",
        body=(
            "为贯彻落实厉行节约有关规定，进一步规范市直单位公务接待费管理，现就有关事项通知如下。",
            "一、公务接待应当坚持有利公务、务实节俭、严格标准、简化礼仪、高效透明的原则。",
            "二、各单位应当严格执行公务接待审批制度，接待清单作为财务报销凭证之一。",
            "三、公务接待费应当通过公务卡或者银行转账方式结算，原则上不得使用现金支付。",
        ),
        signers=CZJ, date=dt.date(2024, 4, 16), retention="D30", classification="公开",
        keywords=("公务接待", "经费管理"), cc="市纪委监委，市审计局。",
    ),
    Doc(
        key="C04", agency="CZJ", fmt="ofd", path="CZJ-2024-003.ofd", number="柳财教(2024)3号",
        mark=CZJ, title="柳州市财政局关于下达2024年义务教育经费保障资金的通知", addressee="各县、区财政局，市教育局：",
        body=(
            "根据中央和自治区有关文件精神，现下达你单位2024年城乡义务教育经费保障资金，并就有关事项通知如下。",
            "一、资金用于落实城乡义务教育学校生均公用经费、家庭经济困难学生生活补助等支出。",
            "二、请按照规定及时将资金拨付到位，确保专款专用，不得截留、挤占、挪用。",
            "三、市财政局将会同市教育局对资金使用情况开展绩效评价。",
        ),
        signers=CZJ, date=dt.date(2024, 2, 6), retention="D30", classification="公开",
        keywords=("义务教育", "转移支付"), cc="市审计局。",
    ),
    Doc(
        key="C05", agency="CZJ", fmt="docx", path="CZJ-2024-006.docx", number="柳财办〔2024〕6号",
        mark=CZJ, title="柳州市财政局关于印发2024年工作要点的通知", addressee="局机关各科室，局属各单位：",
        body=(
            "现将《柳州市财政局2024年工作要点》印发给你们，请结合工作实际，认真抓好落实。",
            "各科室、各单位要对照工作要点制定具体措施，明确责任分工，确保各项工作任务按期完成。",
            "工作推进中的重要情况，请及时向局党组报告。",
        ),
        signers=CZJ, date=dt.date(2024, 1, 30), retention="D10", classification="内部",
        keywords=("工作要点",), cc="局领导。",
    ),
    Doc(
        key="C06", agency="CZJ", fmt="pdf", path="CZJ-2023-045.pdf", number="柳财预〔2023〕45号",
        mark=CZJ, signatory="黄建国", title="柳州市财政局关于2023年市本级预算调整方案的请示", addressee="市人民政府：",
        body=(
            "受宏观经济形势等因素影响，2023年市本级一般公共预算收入预计较年初预算有所减少，为保障重点支出需要，拟对2023年市本级预算进行调整。",
            "一、调整后一般公共预算收入与支出保持平衡。",
            "二、调整方案经市人民政府同意后，提请市人民代表大会常务委员会审查批准。",
            "妥否，请批示。",
        ),
        signers=CZJ, date=dt.date(2023, 9, 18), retention="Y", classification="内部",
        keywords=("预算调整", "请示"), cc="市人大常委会预算工作委员会。",
    ),
    Doc(
        key="C07", agency="CZJ", fmt="pdf", path="CZJ-2024-002.pdf", number="柳财库〔2024〕2号",
        mark=CZJ, title="柳州市财政局关于推进国库集中支付电子化管理的通知", addressee="市直各预算单位，各代理银行：",
        body=(
            "为提高财政资金支付效率，保障资金安全，市财政局决定全面推进国库集中支付电子化管理。现将有关事项通知如下。",
            "一、自本通知印发之日起，市直各预算单位的国库集中支付业务一律通过电子化系统办理。",
            "二、各单位应当妥善保管电子签名数字证书，不得转借他人使用。",
            "三、电子支付凭证及其元数据应当按照电子会计档案管理的有关规定归档保存。",
        ),
        signers=CZJ, date=dt.date(2024, 1, 10), retention="D30", classification="公开",
        keywords=("国库集中支付", "电子化"), cc="中国人民银行柳州市分行。",
        attachments=(
            Attachment(
                "CZJ-2024-002-附件-操作指南.pdf", "国库集中支付电子化管理操作指南", "pdf",
                paragraphs=(
                    "一、预算单位经办人员登录电子化系统，录入支付申请，上传支付依据。",
                    "二、单位审核人员审核后加盖电子签章，系统自动生成电子支付凭证。",
                    "三、代理银行验证电子签章后办理支付，并将回单实时反馈预算单位。",
                    "四、电子支付凭证及其元数据按月导出，与电子会计凭证一并归档。",
                ),
            ),
        ),
    ),
    Doc(
        key="C08", agency="CZJ", fmt="pdf", path="CZJ-2024-004.pdf", number="柳财采〔2024〕4号",
        mark=CZJ, title="柳州市财政局关于公布2024年柳州市政府集中采购目录及限额标准的通知", addressee="市直各预算单位：",
        body=(
            "根据《中华人民共和国政府采购法》及有关规定，现将2024年柳州市政府集中采购目录及限额标准予以公布，自公布之日起执行。",
            "一、纳入集中采购目录的项目，各单位应当委托集中采购机构代理采购。",
            "二、集中采购目录以外、限额标准以上的项目，按照分散采购的规定执行。",
        ),
        signers=CZJ, date=dt.date(2024, 1, 18), retention="D10", classification="公开",
        keywords=("政府采购", "集中采购目录"), cc="市公共资源交易中心。", omit=("number",),
    ),
    Doc(
        key="C09", agency="CZJ", fmt="tiff", path="扫描件/CZJ-2008-021.tif", number="柳财预〔2008〕21号",
        mark=CZJ, title="柳州市财政局关于下达2008年市本级部门预算的通知", addressee="市直各预算单位：",
        body=(
            "根据市人民代表大会审查批准的2008年市本级预算，现将你单位2008年部门预算下达给你们，请认真执行。",
            "各单位要严格预算管理，按照批复的预算组织收入、安排支出，年度执行中一般不予追加。",
        ),
        signers=CZJ, date=dt.date(2008, 2, 26), retention="Y", classification="公开",
        keywords=("部门预算",), cc="市审计局。",
    ),
    Doc(
        key="C10", agency="CZJ", fmt="pdf", path="CZJ-2024-009.pdf", number="柳财综〔2024〕9号",
        mark=("柳州市财政局", "柳州市审计局"), title="柳州市财政局 柳州市审计局关于开展2024年财会监督专项行动的通知",
        addressee="市直各单位：",
        body=(
            "为严肃财经纪律，规范财政资金管理使用，市财政局、市审计局决定联合开展2024年财会监督专项行动。现将有关事项通知如下。",
            "一、检查重点为预算执行、政府采购、国有资产管理和会计信息质量等情况。",
            "二、各单位要认真开展自查，如实填报自查情况，对发现的问题立行立改。",
            "三、对检查中发现的违法违规问题，依法依规严肃处理。",
        ),
        signers=("柳州市财政局", "柳州市审计局"), date=dt.date(2024, 5, 8), retention="D30", classification="内部",
        keywords=("财会监督", "专项行动"), cc="市纪委监委。", printer="柳州市财政局", meta_date_text=True,
    ),
    Doc(
        key="C11", agency="CZJ", fmt="pdf", path="CZJ-2024-007.pdf", number="柳财农〔2024〕7号",
        mark=CZJ, title="柳州市财政局关于下达2024年农业保险保费补贴资金的通知", addressee="各县、区财政局：",
        body=(
            "根据农业保险保费补贴管理有关规定，现下达你单位2024年农业保险保费补贴资金。请按照规定及时拨付，确保资金安全和有效使用。",
            "各地要加强对承保机构的监督，确保补贴资金足额用于农业保险保费支出，不得用于其他支出。",
        ),
        signers=CZJ, date=dt.date(2024, 3, 1), retention="D10", classification="公开",
        keywords=("农业保险", "保费补贴"), cc="市农业农村局。",
    ),
    # ---------------------------------------------------------------- DAJ: 登记表.csv
    Doc(
        key="D01", agency="DAJ", fmt="pdf", path="2024/柳档发〔2024〕3号.pdf", number="柳档发〔2024〕3号",
        mark=DAJ, title="柳州市档案局关于开展2024年度档案行政执法检查的通知", addressee="市直各单位，各县、区档案局：",
        body=(
            "根据《中华人民共和国档案法》《中华人民共和国档案法实施条例》，市档案局决定开展2024年度档案行政执法检查。现将有关事项通知如下。",
            "一、检查内容包括档案工作责任制落实、档案收集归档、档案安全保管和电子档案管理等情况。",
            "二、检查采取单位自查与实地抽查相结合的方式进行。",
            "三、对检查中发现的问题，将依法下达整改通知书，并督促限期整改。",
        ),
        signers=DAJ, date=dt.date(2024, 3, 18), retention="D30", classification="公开",
        keywords=("档案", "执法检查"), cc="市司法局。",
    ),
    Doc(
        key="D02", agency="DAJ", fmt="ofd", path="2024/柳档发〔2024〕5号.ofd", number="柳档发〔2024〕5号",
        mark=DAJ, title="柳州市档案局关于印发《柳州市电子档案移交与接收工作规范》的通知",
        addressee="市直各单位，各县、区档案局：",
        body=(
            "为规范全市电子档案移交与接收工作，确保电子档案真实、完整、可用和安全，市档案局制定了《柳州市电子档案移交与接收工作规范》，现印发给你们，请认真贯彻执行。",
            "各单位移交电子档案时，应当同时移交元数据和电子签名，并填写电子档案移交与接收登记表。",
        ),
        signers=DAJ, date=dt.date(2024, 4, 22), retention="Y", classification="公开",
        keywords=("电子档案", "移交", "接收"), cc="市人民政府办公室，市大数据发展局。",
        attachments=(
            Attachment(
                "2024/柳档发〔2024〕5号_附件_工作规范.pdf", "柳州市电子档案移交与接收工作规范", "pdf",
                paragraphs=(
                    "第一条 为规范电子档案移交与接收工作，根据有关法律法规和标准，制定本规范。",
                    "第二条 电子档案移交前，移交单位应当对电子档案进行真实性、完整性、可用性和安全性检测。",
                    "第三条 电子档案以在线方式移交的，应当附移交清单，移交清单应当由移交单位电子签名。",
                    "第四条 档案馆接收电子档案后应当进行检测，并向移交单位出具电子回执。",
                ),
            ),
        ),
    ),
    Doc(
        key="D03", agency="DAJ", fmt="pdf", path="2024/柳档函[2024]12号.pdf", number="柳档函[2024]12号",
        mark=DAJ, is_letter=True, title="柳州市档案局关于接收市财政局2014年度档案进馆的复函", addressee="市财政局：",
        body=(
            "你局《关于2014年度档案移交进馆的函》收悉。经研究，同意接收你局2014年度文书档案进馆。",
            "请你局按照电子档案移交与接收工作规范，做好档案整理、检测和移交清单编制等工作，并于移交前十个工作日与我局联系。",
            "此复。",
        ),
        signers=DAJ, date=dt.date(2024, 5, 27), retention="D30", classification="公开",
        keywords=("档案进馆", "复函"), cc="柳州市档案馆。", omit=("number", "date"),
    ),
    Doc(
        key="D04", agency="DAJ", fmt="docx", path="2024/柳档发(2024)8号.docx", number="柳档发(2024)8号",
        mark=DAJ, title="柳州市档案局关于做好机构改革中档案处置工作的通知", addressee="市直各单位，各县、区档案局：",
        body=(
            "为确保机构改革中档案完整与安全，防止档案丢失和损毁，现就做好机构改革中档案处置工作通知如下。",
            "一、撤销、合并的单位，应当在机构改革方案公布后及时组织档案清点，编制档案移交目录。",
            "二、档案原则上随职能划转，不得分散、丢失或者擅自销毁。",
            "三、涉及电子档案的，应当同时移交电子档案及其元数据，确保电子档案可读可用。",
        ),
        signers=DAJ, date=dt.date(2024, 6, 5), retention="Y", classification="内部",
        keywords=("机构改革", "档案处置"), cc="市委机构编制委员会办公室。",
    ),
    Doc(
        key="D05", agency="DAJ", fmt="pdf", path="2023/柳档发〔2023〕11号.pdf", number="柳档发〔2023〕11号",
        mark=DAJ, title="柳州市档案局关于2023年度档案工作目标管理考核结果的通报", addressee="市直各单位，各县、区档案局：",
        body=(
            "根据年度档案工作目标管理考核安排，市档案局组织对市直各单位档案工作进行了考核。现将考核结果通报如下。",
            "经考核，市人民政府办公室等12个单位被评为优秀等次，市财政局等35个单位被评为良好等次。",
            "希望受到表彰的单位再接再厉，其他单位对照考核标准查找不足，进一步提升档案工作水平。",
        ),
        signers=DAJ, date=dt.date(2023, 12, 20), retention="D10", classification="公开",
        keywords=("目标管理", "考核", "通报"), cc="市委办公室，市人民政府办公室。",
        attachments=(
            Attachment(
                "2023/柳档发〔2023〕11号_附件.pdf", "2023年度档案工作目标管理考核结果", "pdf",
                rows=(
                    ("序号", "单位", "等次"),
                    ("1", "柳州市人民政府办公室", "优秀"),
                    ("2", "柳州市发展和改革委员会", "优秀"),
                    ("3", "柳州市财政局", "良好"),
                    ("4", "柳州市住房和城乡建设局", "良好"),
                    ("5", "柳州市交通运输局", "良好"),
                ),
            ),
        ),
    ),
    Doc(
        key="D06", agency="DAJ", fmt="jpeg", path="2009/柳档发〔2009〕2号.jpg", number="柳档发〔2009〕2号",
        mark=DAJ, title="柳州市档案局关于加强全市重点建设项目档案管理的通知", addressee="各县档案局，市直各单位：",
        body=(
            "为加强重点建设项目档案管理，确保项目档案完整、准确、系统，现就有关事项通知如下。",
            "一、建设单位应当将项目档案工作纳入项目建设管理程序，与项目建设同步管理。",
            "二、项目竣工验收前，应当组织项目档案专项验收，未经验收或者验收不合格的，不得进行竣工验收。",
        ),
        signers=DAJ, date=dt.date(2009, 4, 14), retention="Y", classification="公开",
        keywords=("建设项目", "档案管理"), cc="市发展和改革委员会。",
    ),
    Doc(
        key="D07", agency="DAJ", fmt="pdf", path="2024/柳档办〔2024〕4号.pdf", number="柳档办〔2024〕4号",
        mark=("柳州市档案局办公室",), title="柳州市档案局办公室关于举办2024年全市档案业务培训班的通知",
        addressee="市直各单位，各县、区档案局：",
        body=(
            "为提高全市档案工作人员业务水平，市档案局决定举办2024年全市档案业务培训班。现将有关事项通知如下。",
            "一、培训内容：档案法律法规、文书档案整理、电子文件归档与电子档案管理。",
            "二、培训对象：市直各单位档案工作人员，各县、区档案局业务骨干。",
            "三、请各单位于开班前五个工作日报送参训人员名单。",
        ),
        signers=("柳州市档案局办公室",), date=dt.date(2024, 7, 9), retention="D10", classification="公开",
        keywords=("业务培训",), cc="", unit="BGS",
    ),
    Doc(
        key="D08", agency="DAJ", fmt="pdf", path="2024/柳档发〔2024〕10号.pdf", number="柳档发〔2024〕10号",
        mark=DAJ, title="柳州市档案局关于开展2024年“国际档案日”宣传活动的通知", addressee="市直各单位，各县、区档案局：",
        body=(
            "今年6月9日是第17个“国际档案日”。为增强全社会档案意识，市档案局决定在全市开展“国际档案日”宣传活动。现将有关事项通知如下。",
            "一、各单位要结合实际，通过展览、讲座、开放日等形式开展档案宣传活动。",
            "二、请各单位于活动结束后五个工作日内将活动总结报送市档案局。",
        ),
        signers=DAJ, date=dt.date(2024, 5, 20), retention="D10", classification="公开",
        keywords=("国际档案日", "宣传"), cc="市委宣传部。", omit=("number",),
    ),
    Doc(
        key="D09", agency="DAJ", fmt="pdf", path="2024/柳档函〔2024〕17号.pdf", number="柳档函〔2024〕17号",
        mark=DAJ, is_letter=True, title="柳州市档案局关于同意市住房和城乡建设局档案提前进馆的复函",
        addressee="市住房和城乡建设局：",
        body=(
            "你局《关于申请档案提前进馆的函》收悉。鉴于你局办公场所搬迁，档案保管条件不足，经研究，同意你局2015年至2018年文书档案提前进馆。",
            "请你局按照有关规定做好档案整理和移交准备工作。",
            "此复。",
        ),
        signers=DAJ, date=dt.date(2024, 8, 13), retention="D30", classification="公开",
        keywords=("档案进馆", "复函"), cc="柳州市档案馆。",
    ),
)


def bad_doc(n: int, title: str, **kw: object) -> Doc:
    """A plain 柳政办发 notice for the bad-input folders."""
    d = dict(
        key=f"B{n}", agency="BAD", fmt="pdf", path=f"柳政办发〔2024〕{n}号.pdf", number=f"柳政办发〔2024〕{n}号",
        mark=SZF_MARK_OFFICE, title=title, addressee="市直各单位：",
        body=(
            "现将有关事项通知如下，请结合实际认真贯彻落实。",
            "各单位要高度重视，明确责任，按时完成各项工作任务。",
        ),
        signers=OFFICE, date=dt.date(2024, 9, 2), retention="D30", classification="公开", keywords=("通知",),
    )
    d.update(kw)
    return Doc(**d)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Layout: one list of drawing operations per page, drawn by each backend.


@dataclass(frozen=True)
class Text:
    x: float  # left edge (or the centre when ``centre``), mm
    y: float  # baseline, mm from the top
    text: str
    pt: float
    color: tuple[float, float, float] = BLACK
    centre: bool = False
    angle: float = 0.0  # degrees counter-clockwise, around (x, y) as the glyph centre


@dataclass(frozen=True)
class Rule:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.35
    color: tuple[float, float, float] = BLACK


@dataclass(frozen=True)
class Seal:
    cx: float
    cy: float
    r: float
    organ: str


Op = Text | Rule | Seal


@dataclass
class Pages:
    pages: list[list[Op]] = field(default_factory=lambda: [[]])
    y: float = TOP

    def add(self, op: Op) -> None:
        self.pages[-1].append(op)

    def new_page(self) -> None:
        self.pages.append([])
        self.y = TOP + LINE

    def need(self, height: float, limit: float = BOTTOM) -> None:
        if self.y + height > limit:
            self.new_page()


def _centred(text: str, pt: float, y: float, color: tuple[float, float, float] = BLACK) -> Text:
    w = em(text) * pt * PT
    return Text(LEFT + (TEXT_W - w) / 2, y, text, pt, color)


def layout(doc: Doc) -> list[list[Op]]:
    """Lay a document out on A4 pages following GB/T 9704-2012 (simplified)."""
    p = Pages()
    body_em = BODY_PT * PT
    if doc.secret:
        p.add(Text(LEFT, TOP + 6, doc.secret, 16))
    if doc.urgency:
        p.add(Text(LEFT, TOP + (14 if doc.secret else 6), doc.urgency, 16))
    # 发文机关标志 (red), centred; 函 carry no 文件
    y = TOP + (36 if doc.signatory else 22)
    if len(doc.mark) == 1:
        mark = doc.mark[0] + ("" if doc.is_letter else "文件")
        pt = min(34.0, TEXT_W / em(mark) / PT)
        p.add(_centred(mark, pt, y, RED))
    else:
        pt = 28.0
        widest = max(em(m) for m in doc.mark) * pt * PT
        x0 = LEFT + (TEXT_W - widest - 2 * pt * PT - 4) / 2
        for i, organ in enumerate(doc.mark):
            p.add(Text(x0, y + i * 12, organ, pt, RED))
        p.add(Text(x0 + widest + 4, y + (len(doc.mark) - 1) * 6, "文件", pt, RED))
        y += (len(doc.mark) - 1) * 12
    # 发文字号 (and 签发人 for 上行文), then the red separator
    y += 16
    if doc.signatory:
        p.add(Text(LEFT + body_em, y, doc.number, 16))
        sign = f"签发人：{doc.signatory}"
        p.add(Text(LEFT + TEXT_W - body_em - em(sign) * 16 * PT, y, sign, 16))
    else:
        p.add(_centred(doc.number, 16, y))
    y += 5
    p.add(Rule(LEFT, y, LEFT + TEXT_W, y, 0.6, RED))
    # 标题
    y += 14
    for line in wrap(doc.title, TEXT_W / (22 * PT) - 2):
        p.add(_centred(line, 22, y))
        y += 10
    # 主送机关
    y += 3
    p.y = y
    p.add(Text(LEFT, p.y, doc.addressee, BODY_PT))
    p.y += LINE
    width = TEXT_W / body_em
    for para in doc.body:
        for i, line in enumerate(wrap(para, width, first_indent=2)):
            p.need(0)
            p.add(Text(LEFT + (2 * body_em if i == 0 else 0), p.y, line, BODY_PT))
            p.y += LINE
    # 附件说明
    if doc.attachments:
        p.y += LINE
        for i, att in enumerate(doc.attachments):
            p.need(0)
            name = att.title if len(doc.attachments) == 1 else f"{i + 1}．{att.title}"
            lead = "附件：" if i == 0 else ""
            x = LEFT + 2 * body_em + (0 if i == 0 else 3 * body_em)
            for j, line in enumerate(wrap(lead + name, width - 5)):
                p.add(Text(x + (0 if j == 0 else (3 * body_em if i == 0 else 2 * body_em)), p.y, line, BODY_PT))
                p.y += LINE
    # 发文机关署名, 成文日期, 印章
    p.y += LINE * 1.6
    p.need(LINE * 2)
    date_text = cn_date(doc.date)
    date_x = LEFT + TEXT_W - 4 * body_em - em(date_text) * body_em
    date_cx = date_x + em(date_text) * body_em / 2
    signer_y = p.y
    if len(doc.signers) == 1:
        s = doc.signers[0]
        p.add(Text(date_cx - em(s) * body_em / 2, signer_y, s, BODY_PT))
        seals = [(date_cx, s)]
    else:
        xs = [LEFT + TEXT_W * (i + 0.5) / len(doc.signers) for i in range(len(doc.signers))]
        seals = []
        for x, s in zip(xs, doc.signers):
            p.add(Text(x - em(s) * body_em / 2, signer_y, s, BODY_PT))
            seals.append((x, s))
    p.y += LINE
    p.add(Text(date_x, p.y, date_text, BODY_PT))
    seal_page = len(p.pages) - 1
    # 附注
    if doc.classification == "公开":
        p.y += LINE
        p.add(Text(LEFT + 2 * body_em, p.y, "（此件公开发布）", BODY_PT))
    # 版记: 抄送 and 印发机关/印发日期 at the foot of the last page
    foot = 24 if doc.cc else 14
    if p.y + 4 > BOTTOM - foot:
        p.new_page()
    fy = BOTTOM - foot + 4
    p.add(Rule(LEFT, fy, LEFT + TEXT_W, fy, 0.5))
    if doc.cc:
        for line in wrap("抄送：" + doc.cc, TEXT_W / (14 * PT) - 2):
            p.add(Text(LEFT + 14 * PT, fy + 7, line, 14))
        fy += 10
        p.add(Rule(LEFT, fy, LEFT + TEXT_W, fy, 0.25))
    printed = f"{cn_date(doc.date)}印发"
    p.add(Text(LEFT + 14 * PT, fy + 7, doc.print_organ, 14))
    p.add(Text(LEFT + TEXT_W - 14 * PT - em(printed) * 14 * PT, fy + 7, printed, 14))
    fy += 10
    p.add(Rule(LEFT, fy, LEFT + TEXT_W, fy, 0.5))
    # 页码, then the seals last (so that text extraction meets them at the end)
    for i, page in enumerate(p.pages):
        num = f"— {i + 1} —"
        x = LEFT + TEXT_W - 2 * PT * 14 - em(num) * 14 * PT if i % 2 == 0 else LEFT + 14 * PT
        page.append(Text(x, BOTTOM + 10, num, 14))
    for cx, organ in seals:
        p.pages[seal_page].append(Seal(cx, signer_y + 1, 20.0, organ))
    return p.pages


def layout_attachment(doc: Doc, index: int, att: Attachment) -> list[list[Op]]:
    """An attachment page: 附件 N at the top left, its title, then a table or paragraphs."""
    p = Pages()
    label = "附件" if len(doc.attachments) == 1 else f"附件{index + 1}"
    p.add(Text(LEFT, TOP + 6, label, 16))
    y = TOP + 22
    for line in wrap(att.title, TEXT_W / (20 * PT) - 2):
        p.add(_centred(line, 20, y))
        y += 10
    p.y = y + 4
    if att.rows:
        ncol = len(att.rows[0])
        weights = [max(em(r[c]) for r in att.rows) + 1 for c in range(ncol)]
        total = sum(weights)
        widths = [TEXT_W * w / total for w in weights]
        row_h = 9.0
        top = p.y - 6
        for r, row in enumerate(att.rows):
            x = LEFT
            for c, cell in enumerate(row):
                pt = 12 if r else 13
                w = em(cell) * pt * PT
                p.add(Text(x + (widths[c] - w) / 2, top + r * row_h + 6.2, cell, pt))
                x += widths[c]
        bottom = top + len(att.rows) * row_h
        for r in range(len(att.rows) + 1):
            p.add(Rule(LEFT, top + r * row_h, LEFT + TEXT_W, top + r * row_h, 0.3))
        x = LEFT
        for c in range(ncol + 1):
            p.add(Rule(x, top, x, bottom, 0.3))
            if c < ncol:
                x += widths[c]
    else:
        body_em = BODY_PT * PT
        for para in att.paragraphs:
            for i, line in enumerate(wrap(para, TEXT_W / body_em, first_indent=2)):
                p.need(0)
                p.add(Text(LEFT + (2 * body_em if i == 0 else 0), p.y, line, BODY_PT))
                p.y += LINE
    for i, page in enumerate(p.pages):
        num = f"— {i + 1} —"
        page.append(Text(LEFT + TEXT_W - 2 * PT * 14 - em(num) * 14 * PT, BOTTOM + 10, num, 14))
    return p.pages


# ---------------------------------------------------------------------------------------------
# PDF (reportlab)


def _mm(v: float) -> float:
    return v * 72 / 25.4


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """A five-pointed star's ten vertices (mm, y down), one point up."""
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else r * 0.382
        a = math.radians(90 + 36 * i)
        pts.append((cx + rad * math.cos(a), cy - rad * math.sin(a)))
    return pts


def _seal_chars(seal: Seal) -> list[tuple[float, float, float, str]]:
    """(x, y, rotation, char) for the organ name set along the top of the seal's ring."""
    n = len(seal.organ)
    span = min(250.0, 28.0 * n)
    ring = seal.r - 4.8
    out = []
    for i, ch in enumerate(seal.organ):
        theta = 90 + span / 2 - (span * (i + 0.5) / n)
        a = math.radians(theta)
        out.append((seal.cx + ring * math.cos(a), seal.cy - ring * math.sin(a), theta - 90, ch))
    return out


class PdfRenderer:
    """Draws laid-out pages with reportlab."""

    def __init__(self, font: str) -> None:
        self.font = font

    def render(self, pages: list[list[Op]], *, title: str, author: str, subject: str, keywords: str,
               created: dt.datetime, pdf_version: tuple[int, int] | None = None) -> bytes:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.utils import TimeStamp
        from reportlab.pdfgen import canvas

        buf = io.BytesIO()
        kwargs = {"pdfVersion": pdf_version} if pdf_version else {}
        # the initial font too: otherwise every page references a non-embedded Helvetica
        c = canvas.Canvas(buf, pagesize=A4, invariant=1, initialFontName=self.font, **kwargs)
        ts = TimeStamp(1)
        ts.t = created.timestamp()
        ts.lt = created.timetuple()
        ts.YMDhms = tuple(created.timetuple())[:6]
        ts.dhh, ts.dmm, ts.tzname = 8, 0, "CST"
        c._doc._timeStamp = ts  # fixed creation date: the document's date
        c.setTitle(title)
        c.setAuthor(author)
        c.setSubject(subject)
        c.setKeywords(keywords)
        c.setCreator("柳州市电子公文系统")
        for ops in pages:
            for op in ops:
                self._draw(c, op)
            c.showPage()
        c.save()
        return buf.getvalue()

    def _draw(self, c: object, op: Op) -> None:
        from reportlab.pdfgen.canvas import Canvas

        assert isinstance(c, Canvas)
        if isinstance(op, Text):
            c.setFillColorRGB(*op.color)
            c.setFont(self.font, op.pt)
            if op.angle or op.centre:
                c.saveState()
                c.translate(_mm(op.x), _mm(PAGE_H - op.y))
                c.rotate(op.angle)
                c.drawCentredString(0, -op.pt * 0.36, op.text)
                c.restoreState()
            else:
                c.drawString(_mm(op.x), _mm(PAGE_H - op.y), op.text)
        elif isinstance(op, Rule):
            c.setStrokeColorRGB(*op.color)
            c.setLineWidth(_mm(op.width))
            c.line(_mm(op.x1), _mm(PAGE_H - op.y1), _mm(op.x2), _mm(PAGE_H - op.y2))
        elif isinstance(op, Seal):
            c.setStrokeColorRGB(*RED)
            c.setFillColorRGB(*RED)
            c.setLineWidth(_mm(1.0))
            c.circle(_mm(op.cx), _mm(PAGE_H - op.cy), _mm(op.r), stroke=1, fill=0)
            path = c.beginPath()
            pts = _star(op.cx, op.cy, 5.5)
            path.moveTo(_mm(pts[0][0]), _mm(PAGE_H - pts[0][1]))
            for x, y in pts[1:]:
                path.lineTo(_mm(x), _mm(PAGE_H - y))
            path.close()
            c.drawPath(path, stroke=0, fill=1)
            for x, y, angle, ch in _seal_chars(op):
                self._draw(c, Text(x, y, ch, 12, RED, centre=True, angle=angle))


def _created(doc: Doc) -> dt.datetime:
    return dt.datetime.combine(doc.date, dt.time(9, 0), TZ)


def make_pdf(doc: Doc, font: str = "STSong-Light", pdf_version: tuple[int, int] | None = None) -> bytes:
    return PdfRenderer(font).render(
        layout(doc), title=doc.title, author=doc.issuer, subject=doc.number, keywords="；".join(doc.keywords),
        created=_created(doc), pdf_version=pdf_version,
    )


def make_attachment_pdf(doc: Doc, index: int, att: Attachment) -> bytes:
    return PdfRenderer("STSong-Light").render(
        layout_attachment(doc, index, att), title=att.title, author=doc.issuer, subject=f"{doc.number} 附件",
        keywords="", created=_created(doc),
    )


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    icc[24:36] = struct.pack(">6H", *ZIP_TIME)  # the profile's creation date: fixed
    return bytes(icc)


def _pdf_date(t: dt.datetime) -> str:
    return t.strftime("D:%Y%m%d%H%M%S+08'00'")


def make_pdfa(doc: Doc, part: int, ttf: str) -> bytes:
    """A PDF that claims PDF/A-``part``b: embedded font, XMP with pdfaid, sRGB OutputIntent."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (ArrayObject, ByteStringObject, DecodedStreamObject, DictionaryObject, NameObject,
                               NumberObject, TextStringObject)

    version = (1, 4) if part == 1 else (1, 7)
    raw = make_pdf(doc, font=ttf, pdf_version=version)
    reader = PdfReader(io.BytesIO(raw))
    writer = PdfWriter(clone_from=reader)
    created = _created(doc)
    producer = "ReportLab PDF Library; pypdf"
    creator = "柳州市电子公文系统"
    keywords = "；".join(doc.keywords)
    writer.add_metadata({
        "/Title": doc.title, "/Author": doc.issuer, "/Subject": doc.number, "/Keywords": keywords,
        "/Creator": creator, "/Producer": producer,
        "/CreationDate": _pdf_date(created), "/ModDate": _pdf_date(created),
    })
    iso = created.isoformat()
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    xmp = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>{part}</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{esc(doc.title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{esc(doc.issuer)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{esc(doc.number)}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreateDate>{iso}</xmp:CreateDate>
   <xmp:ModifyDate>{iso}</xmp:ModifyDate>
   <xmp:MetadataDate>{iso}</xmp:MetadataDate>
   <xmp:CreatorTool>{creator}</xmp:CreatorTool>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{producer}</pdf:Producer>
   <pdf:Keywords>{esc(keywords)}</pdf:Keywords>
   <pdf:Trapped>False</pdf:Trapped>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    meta = DecodedStreamObject()
    meta.set_data(xmp.encode("utf-8"))
    meta[NameObject("/Type")] = NameObject("/Metadata")
    meta[NameObject("/Subtype")] = NameObject("/XML")
    icc = DecodedStreamObject()
    icc.set_data(_srgb_profile())
    icc[NameObject("/N")] = NumberObject(3)
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"),
        NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
        NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
        NameObject("/DestOutputProfile"): writer._add_object(icc),
    })
    root = writer._root_object
    root[NameObject("/Metadata")] = writer._add_object(meta)
    root[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    writer.pdf_header = "%PDF-1.4" if part == 1 else "%PDF-1.7"
    file_id = ByteStringObject(hashlib.md5(doc.number.encode()).digest())
    writer._ID = ArrayObject([file_id, file_id])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# OFD (GB/T 33190-2016)


def _ofd_el(parent: etree._Element | None, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    q = f"{{{OFD_NS}}}{tag}"
    el = etree.Element(q, nsmap={"ofd": OFD_NS}) if parent is None else etree.SubElement(parent, q)
    for k, v in attrs.items():
        el.set(k, v)
    if text is not None:
        el.text = text
    return el


def _xml(el: etree._Element) -> bytes:
    return etree.tostring(el, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _rgb255(color: tuple[float, float, float]) -> str:
    return " ".join(str(round(c * 255)) for c in color)


def make_ofd(doc: Doc) -> bytes:
    """A small OFD package: OFD.xml, Doc_0/Document.xml, PublicRes.xml, one Content.xml per page."""
    pages = layout(doc)
    ids = iter(range(1, 100000))
    font_id = next(ids)
    files: list[tuple[str, bytes]] = []

    root = _ofd_el(None, "OFD", Version="1.0", DocType="OFD")
    body = _ofd_el(root, "DocBody")
    info = _ofd_el(body, "DocInfo")
    _ofd_el(info, "DocID", hashlib.md5(doc.number.encode()).hexdigest())
    _ofd_el(info, "Title", doc.title)
    _ofd_el(info, "Author", doc.issuer)
    _ofd_el(info, "Subject", doc.number)
    _ofd_el(info, "CreationDate", doc.date.isoformat())
    _ofd_el(info, "ModDate", doc.date.isoformat())
    kws = _ofd_el(info, "Keywords")
    for k in doc.keywords:
        _ofd_el(kws, "Keyword", k)
    _ofd_el(info, "Creator", "柳州市电子公文系统")
    _ofd_el(info, "CreatorVersion", "3.2")
    _ofd_el(body, "DocRoot", "Doc_0/Document.xml")

    res = _ofd_el(None, "Res", BaseLoc="Res")
    fonts = _ofd_el(res, "Fonts")
    _ofd_el(fonts, "Font", ID=str(font_id), FontName="宋体", FamilyName="宋体")

    page_ids = []
    for number, ops in enumerate(pages):
        page = _ofd_el(None, "Page")
        area = _ofd_el(page, "Area")
        _ofd_el(area, "PhysicalBox", f"0 0 {_n(PAGE_W)} {_n(PAGE_H)}")
        content = _ofd_el(page, "Content")
        layer = _ofd_el(content, "Layer", ID=str(next(ids)), Type="Body")
        for op in ops:
            if isinstance(op, Text) and not op.angle:
                size = op.pt * PT
                deltas = [em(ch) * size for ch in op.text]
                width = sum(deltas)
                obj = _ofd_el(layer, "TextObject", ID=str(next(ids)),
                              Boundary=f"{_n(op.x)} {_n(op.y - size)} {_n(width + 1)} {_n(size * 1.3)}",
                              Font=str(font_id), Size=_n(size))
                if op.color != BLACK:
                    _ofd_el(obj, "FillColor", Value=_rgb255(op.color))
                code = _ofd_el(obj, "TextCode", op.text, X="0", Y=_n(size))
                if len(deltas) > 1:
                    code.set("DeltaX", " ".join(_n(d) for d in deltas[:-1]))
            elif isinstance(op, Rule):
                x0, y0 = min(op.x1, op.x2), min(op.y1, op.y2)
                w, h = abs(op.x2 - op.x1), abs(op.y2 - op.y1)
                obj = _ofd_el(layer, "PathObject", ID=str(next(ids)),
                              Boundary=f"{_n(x0)} {_n(y0 - op.width)} {_n(w + op.width)} {_n(h + 2 * op.width)}",
                              LineWidth=_n(op.width))
                _ofd_el(obj, "StrokeColor", Value=_rgb255(op.color))
                _ofd_el(obj, "AbbreviatedData",
                        f"M {_n(op.x1 - x0)} {_n(op.y1 - y0 + op.width)} L {_n(op.x2 - x0)} {_n(op.y2 - y0 + op.width)}")
            elif isinstance(op, Seal):
                r = op.r
                obj = _ofd_el(layer, "PathObject", ID=str(next(ids)),
                              Boundary=f"{_n(op.cx - r - 1)} {_n(op.cy - r - 1)} {_n(2 * r + 2)} {_n(2 * r + 2)}",
                              LineWidth="1")
                _ofd_el(obj, "StrokeColor", Value=_rgb255(RED))
                c = r + 1
                _ofd_el(obj, "AbbreviatedData",
                        f"M {_n(c - r)} {_n(c)} A {_n(r)} {_n(r)} 0 1 1 {_n(c + r)} {_n(c)} "
                        f"A {_n(r)} {_n(r)} 0 1 1 {_n(c - r)} {_n(c)} C")
                star = _star(r + 1, r + 1, 5.5)
                obj = _ofd_el(layer, "PathObject", ID=str(next(ids)),
                              Boundary=f"{_n(op.cx - r - 1)} {_n(op.cy - r - 1)} {_n(2 * r + 2)} {_n(2 * r + 2)}",
                              Stroke="false", Fill="true")
                _ofd_el(obj, "FillColor", Value=_rgb255(RED))
                _ofd_el(obj, "AbbreviatedData",
                        "M " + " L ".join(f"{_n(x)} {_n(y)}" for x, y in star) + " C")
        page_id = next(ids)
        page_ids.append(page_id)
        files.append((f"Doc_0/Pages/Page_{number}/Content.xml", _xml(page)))

    document = _ofd_el(None, "Document")
    common = _ofd_el(document, "CommonData")
    _ofd_el(common, "MaxUnitID", str(next(ids) - 1))
    area = _ofd_el(common, "PageArea")
    _ofd_el(area, "PhysicalBox", f"0 0 {_n(PAGE_W)} {_n(PAGE_H)}")
    _ofd_el(common, "PublicRes", "PublicRes.xml")
    pages_el = _ofd_el(document, "Pages")
    for number, page_id in enumerate(page_ids):
        _ofd_el(pages_el, "Page", ID=str(page_id), BaseLoc=f"Pages/Page_{number}/Content.xml")

    entries = [("OFD.xml", _xml(root)), ("Doc_0/Document.xml", _xml(document)),
               ("Doc_0/PublicRes.xml", _xml(res)), *files]
    return zip_bytes(entries)


# ---------------------------------------------------------------------------------------------
# ZIP-based formats: fixed timestamps so that the bytes do not change between runs


def zip_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            z.writestr(info, data, compresslevel=9)
    return buf.getvalue()


_CORE_DATE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def normalise_ooxml(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite a DOCX/XLSX with fixed ZIP timestamps and fixed created/modified properties."""
    stamp = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            blob = z.read(info)
            if info.filename == "docProps/core.xml":
                blob = _CORE_DATE.sub(lambda m: m.group(1) + stamp + m.group(3), blob)
            entries.append((info.filename, blob))
    return zip_bytes(entries)


def make_xlsx(title: str, rows: tuple[tuple[str, ...], ...] | list[list[object]], when: dt.datetime,
              sheet: str = "Sheet1", date_columns: tuple[int, ...] = ()) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for r, row in enumerate(rows):
        ws.append(list(row))
        if r == 0:
            for cell in ws[1]:
                cell.font = Font(bold=True)
    for c, _ in enumerate(rows[0]):
        width = max(em(str(row[c])) if row[c] is not None else 0 for row in rows) * 2 + 2
        ws.column_dimensions[chr(ord("A") + c)].width = min(width, 60)
    for c in date_columns:
        for cell in ws.iter_cols(min_col=c + 1, max_col=c + 1, min_row=2):
            for x in cell:
                if isinstance(x.value, dt.date):
                    x.number_format = "yyyy-mm-dd"
    wb.properties.title = title
    wb.properties.creator = "柳州市电子公文系统"
    wb.properties.lastModifiedBy = "柳州市电子公文系统"
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_ooxml(buf.getvalue(), when)


# ---------------------------------------------------------------------------------------------
# DOCX (python-docx)


def _seal_png(organ: str, ttf: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    scale = 8  # px per mm
    r = 20.0
    size = int((2 * r + 2) * scale)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    red = (217, 20, 20, 255)
    seal = Seal(r + 1, r + 1, r, organ)
    c = (r + 1) * scale
    d.ellipse([c - r * scale, c - r * scale, c + r * scale, c + r * scale], outline=red, width=int(1.0 * scale))
    d.polygon([(x * scale, y * scale) for x, y in _star(r + 1, r + 1, 5.5)], fill=red)
    font = ImageFont.truetype(ttf, int(12 * PT * scale), index=0)
    for x, y, angle, ch in _seal_chars(seal):
        _paste_rotated(img, ch, font, x * scale, y * scale, angle, red)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _paste_rotated(img: object, ch: str, font: object, x: float, y: float, angle: float, fill: object) -> None:
    from PIL import Image, ImageDraw

    assert isinstance(img, Image.Image)
    side = int(font.size * 1.6)  # type: ignore[attr-defined]
    glyph = Image.new("L", (side, side), 0)
    ImageDraw.Draw(glyph).text((side / 2, side / 2), ch, font=font, fill=255, anchor="mm")
    glyph = glyph.rotate(angle, resample=Image.BICUBIC)
    colour = Image.new(img.mode, (side, side), fill)
    img.paste(colour, (int(x - side / 2), int(y - side / 2)), glyph)


def make_docx(doc: Doc, ttf: str) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

    d = Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Mm(PAGE_W), Mm(PAGE_H)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)

    def para(text: str, pt: float, font: str = "仿宋_GB2312", align: object = None, red: bool = False,
             bold: bool = False, indent: float = 0.0, right: float = 0.0, before: float = 0.0) -> object:
        p = d.add_paragraph()
        if align is not None:
            p.alignment = align
        fmt = p.paragraph_format
        fmt.space_after = Pt(0)
        fmt.space_before = Pt(before)
        fmt.line_spacing = Pt(28)
        if indent:
            fmt.first_line_indent = Pt(pt * indent)
        if right:
            fmt.right_indent = Pt(pt * right)
        run = p.add_run(text)
        run.font.size = Pt(pt)
        run.font.bold = bold
        run.font.name = font
        run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)
        if red:
            run.font.color.rgb = RGBColor(0xD9, 0x14, 0x14)
        return p

    def border(p: object, side: str, color: str = "000000", size: int = 8) -> None:
        ppr = p._p.get_or_add_pPr()  # type: ignore[attr-defined]
        bdr = ppr.find(qn("w:pBdr"))
        if bdr is None:
            bdr = OxmlElement("w:pBdr")
            ppr.append(bdr)
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "single")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:space"), "1")
        el.set(qn("w:color"), color)
        bdr.append(el)

    C = WD_ALIGN_PARAGRAPH.CENTER
    if doc.urgency:
        para(doc.urgency, 16, font="黑体")
    mark = doc.mark[0] + ("" if doc.is_letter else "文件")
    para(mark, 30, font="方正小标宋简体", align=C, red=True, before=40)
    number = para(doc.number, 16, align=C, before=24)
    border(number, "bottom", "D91414", 18)
    para(doc.title, 22, font="方正小标宋简体", align=C, before=28)
    para(doc.addressee, 16, before=16)
    for text in doc.body:
        para(text, 16, indent=2)
    if doc.attachments:
        para("附件：" + doc.attachments[0].title, 16, indent=2, before=16)
    seal = d.add_paragraph()
    seal.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    seal.paragraph_format.right_indent = Pt(16 * 4)
    seal.add_run().add_picture(io.BytesIO(_seal_png(doc.signers[0], ttf)), width=Mm(34))
    para(doc.issuer, 16, align=WD_ALIGN_PARAGRAPH.RIGHT, right=5)
    para(cn_date(doc.date), 16, align=WD_ALIGN_PARAGRAPH.RIGHT, right=4)
    if doc.classification == "公开":
        para("（此件公开发布）", 16, indent=2)
    if doc.cc:
        cc = para("抄送：" + doc.cc, 14, before=40)
        border(cc, "top", size=8)
    printed = para(f"{doc.print_organ}　　　　　　{cn_date(doc.date)}印发", 14, before=0 if doc.cc else 40)
    border(printed, "top", size=4)
    border(printed, "bottom", size=8)

    cp = d.core_properties
    cp.title = doc.title
    cp.subject = doc.number
    cp.author = doc.issuer
    cp.keywords = "；".join(doc.keywords)
    cp.category = "公文"
    cp.comments = ""
    cp.last_modified_by = doc.issuer
    cp.revision = 1
    cp.created = cp.modified = _created(doc).replace(tzinfo=None)
    buf = io.BytesIO()
    d.save(buf)
    return normalise_ooxml(buf.getvalue(), _created(doc))


# ---------------------------------------------------------------------------------------------
# Scans (pillow): a rendered page, greyscale, with a little skew and dust


def render_scan(doc: Doc, ttf: str, width_px: int = 600) -> object:
    from PIL import Image, ImageDraw, ImageFont

    s = width_px / PAGE_W
    height_px = int(round(PAGE_H * s))
    img = Image.new("L", (width_px, height_px), 246)
    d = ImageDraw.Draw(img)
    fonts: dict[int, object] = {}

    def font(pt: float) -> object:
        px = max(6, int(round(pt * PT * s)))
        if px not in fonts:
            fonts[px] = ImageFont.truetype(ttf, px, index=0)
        return fonts[px]

    def grey(color: tuple[float, float, float]) -> int:
        return 110 if color != BLACK else 30

    ops = layout(doc)[0]
    for op in ops:
        if isinstance(op, Text):
            d.text((op.x * s, op.y * s), op.text, font=font(op.pt), fill=grey(op.color), anchor="ls")
        elif isinstance(op, Rule):
            d.line([(op.x1 * s, op.y1 * s), (op.x2 * s, op.y2 * s)], fill=grey(op.color),
                   width=max(1, round(op.width * s)))
        elif isinstance(op, Seal):
            r = op.r * s
            d.ellipse([op.cx * s - r, op.cy * s - r, op.cx * s + r, op.cy * s + r], outline=120, width=max(2, round(s)))
            d.polygon([(x * s, y * s) for x, y in _star(op.cx, op.cy, 5.5)], fill=120)
            for x, y, angle, ch in _seal_chars(op):
                _paste_rotated(img, ch, font(12), x * s, y * s, angle, 120)
    rng = random.Random(doc.number)
    for _ in range(220):
        x, y = rng.randrange(width_px), rng.randrange(height_px)
        d.point((x, y), fill=rng.randrange(90, 200))
    img = img.rotate(rng.uniform(-0.6, 0.6), resample=Image.BICUBIC, fillcolor=246)
    return img


def make_jpeg(doc: Doc, ttf: str) -> bytes:
    img = render_scan(doc, ttf)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=60, optimize=True, dpi=(72, 72))  # type: ignore[attr-defined]
    return out.getvalue()


def make_tiff(doc: Doc, ttf: str) -> bytes:
    img = render_scan(doc, ttf, width_px=850)
    bw = img.point(lambda v: 255 if v > 170 else 0, mode="1")  # type: ignore[attr-defined]
    out = io.BytesIO()
    bw.save(out, "TIFF", compression="group4", dpi=(103, 103))
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Metadata: sidecars and registers


def _retention_label(code: str, chinese: bool) -> str:
    return {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}[code] if chinese else code


def sidecar_json(doc: Doc, i: int) -> bytes:
    date = doc.meta_date or doc.date
    if doc.english_keys:
        obj: dict[str, object] = {"title": doc.title}
        if "number" not in doc.omit:
            obj["document_number"] = doc.number
        obj["issuer"] = list(doc.signers)
        if "date" not in doc.omit:
            obj["date"] = date.isoformat()
        obj.update(classification=doc.classification, retention=doc.retention, keywords=list(doc.keywords))
        if doc.attachments:
            obj["attachments"] = [a.path for a in doc.attachments]
    else:
        obj = {"题名": doc.title}
        if "number" not in doc.omit:
            obj["文件编号"] = doc.number
        obj["责任者"] = doc.issuer
        if "date" not in doc.omit:
            obj["成文日期"] = cn_date(date) if i % 2 else date.isoformat()
        obj["密级"] = doc.classification
        obj["保管期限"] = _retention_label(doc.retention, chinese=i % 3 == 0)
        obj["主题词"] = "；".join(doc.keywords)
        if doc.attachments:
            obj["附件"] = [a.path for a in doc.attachments]
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def sidecar_xml(doc: Doc, agency: dict[str, str]) -> bytes:
    """A record element in the record schema, without archivalCode and files (govarc assigns them)."""
    q = "{%s}" % RECORD_NS
    root = etree.Element(q + "record", nsmap={None: RECORD_NS}, profileVersion="1")

    def sub(parent: etree._Element, tag: str, text: str) -> etree._Element:
        el = etree.SubElement(parent, q + tag)
        el.text = text
        return el

    sub(root, "aggregationLevel", "件")
    prov = etree.SubElement(root, q + "provenance")
    sub(prov, "fondsName", agency["fonds_name"])
    sub(prov, "creatorName", agency["name"])
    sub(prov, "agencyCode", agency["code"])
    sub(root, "title", doc.title)
    sub(root, "documentNumber", doc.number)
    for s in doc.signers:
        sub(root, "issuer", s)
    sub(root, "date", (doc.meta_date or doc.date).isoformat())
    sub(root, "classification", doc.classification)
    sub(root, "retention", doc.retention)
    sub(root, "itemCount", str(1 + len(doc.attachments)))
    kw = etree.SubElement(root, q + "keywords")
    for k in doc.keywords:
        sub(kw, "keyword", k)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def register_rows(docs: list[Doc], columns: dict[str, str], chinese_retention: bool, iso_dates: bool) -> list[list[object]]:
    rows: list[list[object]] = [list(columns.values())]
    for doc in docs:
        date = doc.meta_date or doc.date
        values: dict[str, object] = {
            "file": doc.path,
            "title": doc.title,
            "number": "" if "number" in doc.omit else doc.number,
            "issuer": doc.issuer,
            "date": "" if "date" in doc.omit else (cn_date(date) if doc.meta_date_text else (date.isoformat() if iso_dates else date)),
            "classification": doc.classification,
            "retention": _retention_label(doc.retention, chinese_retention),
            "unit": doc.unit,
            "attachments": "；".join(a.path for a in doc.attachments),
            "keywords": "、".join(doc.keywords),
        }
        rows.append([values[k] for k in columns])
    return rows


# ---------------------------------------------------------------------------------------------
# The city


AGENCIES: tuple[dict[str, str], ...] = (
    {"code": "SZF", "name": "柳州市人民政府办公室", "fonds": "0012", "fonds_name": "柳州市人民政府办公室",
     "unit": "BGS", "drop": "drop/SZF"},
    {"code": "CZJ", "name": "柳州市财政局", "fonds": "0035", "fonds_name": "柳州市财政局", "unit": "CWK",
     "drop": "drop/CZJ"},
    {"code": "DAJ", "name": "柳州市档案局", "fonds": "0001", "fonds_name": "柳州市档案局", "unit": "YWK",
     "drop": "drop/DAJ"},
)
FORMATS = {
    "SZF": ["application/pdf", "application/ofd", DOCX_MIME, XLSX_MIME, "image/jpeg", "image/tiff"],
    "CZJ": ["application/pdf", "application/ofd", DOCX_MIME, XLSX_MIME, "image/jpeg", "image/tiff"],
    "DAJ": ["application/pdf", "application/ofd", DOCX_MIME, "image/jpeg", "image/tiff"],
}


def city_toml() -> str:
    lines = [
        "# The sample city: three agencies of a fictional Liuzhou (柳州) municipal government.",
        "# Drop folders are relative to this file. See README.md for the keys.",
        "",
    ]
    for a in AGENCIES:
        fmts = ", ".join(f'"{f}"' for f in FORMATS[a["code"]])
        lines += [
            "[[agency]]",
            f'code = "{a["code"]}"',
            f'name = "{a["name"]}"',
            f'fonds = "{a["fonds"]}"',
            f'fonds_name = "{a["fonds_name"]}"',
            f'unit = "{a["unit"]}"',
            f'drop = "{a["drop"]}"',
            f"accepted_formats = [{fmts}]",
            "allow_classified = false",
            "",
        ]
    return "\n".join(lines)


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main_file(doc: Doc, ttf: str) -> bytes:
    if doc.fmt == "pdf":
        return make_pdf(doc)
    if doc.fmt in ("pdfa1", "pdfa2"):
        return make_pdfa(doc, 1 if doc.fmt == "pdfa1" else 2, ttf="CJK")
    if doc.fmt == "ofd":
        return make_ofd(doc)
    if doc.fmt == "docx":
        return make_docx(doc, ttf)
    if doc.fmt == "jpeg":
        return make_jpeg(doc, ttf)
    if doc.fmt == "tiff":
        return make_tiff(doc, ttf)
    raise ValueError(doc.fmt)


def write_doc(folder: Path, doc: Doc, ttf: str) -> None:
    write(folder / doc.path, main_file(doc, ttf))
    for i, att in enumerate(doc.attachments):
        if att.kind == "pdf":
            data = make_attachment_pdf(doc, i, att)
        else:
            data = make_xlsx(att.title, att.rows, _created(doc))
        write(folder / att.path, data)


def build_city(ttf: str) -> None:
    agencies = {a["code"]: a for a in AGENCIES}
    for code, agency in agencies.items():
        folder = HERE / agency["drop"]
        docs = [d for d in DOCS if d.agency == code]
        for i, doc in enumerate(docs):
            write_doc(folder, doc, ttf)
            if code == "SZF":
                stem = (folder / doc.path).with_suffix("")
                if doc.xml_sidecar:
                    write(stem.with_suffix(".xml"), sidecar_xml(doc, agency))
                else:
                    write(stem.with_suffix(".json"), sidecar_json(doc, i))
        if code == "CZJ":
            cols = {"file": "文件名", "title": "题名", "number": "文件编号", "issuer": "责任者", "date": "成文日期",
                    "classification": "密级", "retention": "保管期限", "attachments": "附件", "keywords": "主题词"}
            rows = register_rows(docs, cols, chinese_retention=False, iso_dates=False)
            write(folder / "register.xlsx",
                  make_xlsx("文件登记表", rows, dt.datetime(2024, 9, 30, 17, 0, tzinfo=TZ), sheet="登记表",
                            date_columns=(4,)))
        if code == "DAJ":
            cols = {"file": "计算机文件名", "title": "题名", "number": "发文字号", "issuer": "责任者", "date": "日期",
                    "classification": "密级", "retention": "保管期限", "unit": "机构问题代码", "attachments": "附件",
                    "keywords": "主题词"}
            rows = register_rows(docs, cols, chinese_retention=True, iso_dates=True)
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\r\n").writerows(rows)
            write(folder / "登记表.csv", buf.getvalue().encode("gb18030"))


def _sidecar(folder: Path, doc: Doc, **fields: object) -> None:
    obj: dict[str, object] = {
        "题名": doc.title, "文件编号": doc.number, "责任者": doc.issuer, "成文日期": doc.date.isoformat(),
        "密级": doc.classification, "保管期限": doc.retention,
    }
    for k, v in fields.items():
        if v is None:
            obj.pop(k, None)
        else:
            obj[k] = v
    write(folder / Path(doc.path).with_suffix(".json"),
          (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def build_bad(ttf: str) -> None:
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    bad = HERE / "bad"

    def folder(code: str) -> Path:
        return bad / code

    def pdf_doc(code: str, doc: Doc, **fields: object) -> bytes:
        data = make_pdf(doc)
        write(folder(code) / doc.path, data)
        _sidecar(folder(code), doc, **fields)
        return data

    def rewrite(data: bytes, change: object) -> bytes:
        reader = PdfReader(io.BytesIO(data))
        writer = PdfWriter(clone_from=reader)
        change(writer)  # type: ignore[operator]
        first = reader.trailer["/ID"][0]
        writer._ID = ArrayObject([first, first])  # pypdf would add a random second ID
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    # a document with no sidecar and no register
    d = bad_doc(91, "柳州市人民政府办公室关于做好秋季森林防火工作的通知")
    write(folder("INGEST_METADATA_MISSING") / d.path, make_pdf(d))

    # a truncated JSON sidecar, and an XML sidecar that is not well-formed
    code = "INGEST_METADATA_UNREADABLE"
    d = bad_doc(92, "柳州市人民政府办公室关于开展安全生产大检查的通知")
    write(folder(code) / d.path, make_pdf(d))
    write(folder(code) / Path(d.path).with_suffix(".json"),
          f'{{\n  "题名": "{d.title}",\n  "责任者": "柳州市人民政府办公室",\n  "密级": "公开",\n'.encode())
    d = bad_doc(93, "柳州市人民政府办公室关于做好防汛工作的通知")
    write(folder(code) / d.path, make_pdf(d))
    write(folder(code) / Path(d.path).with_suffix(".xml"),
          f'<?xml version="1.0" encoding="UTF-8"?>\n<record xmlns="{RECORD_NS}" profileVersion="1">\n'
          f"  <title>{d.title}</title>\n  <issuer>柳州市人民政府办公室\n</record>\n".encode())

    # 题名 missing; 保管期限 empty
    code = "INGEST_FIELD_MISSING"
    d = bad_doc(94, "柳州市人民政府办公室关于开展爱国卫生运动的通知")
    pdf_doc(code, d, 题名=None)
    d = bad_doc(95, "柳州市人民政府办公室关于做好冬春季节疫病防控工作的通知")
    pdf_doc(code, d, 保管期限="")

    # a date that does not exist; a retention code that does not exist
    code = "INGEST_FIELD_INVALID"
    d = bad_doc(96, "柳州市人民政府办公室关于调整部分议事协调机构组成人员的通知", date=dt.date(2024, 2, 29))
    pdf_doc(code, d, 成文日期="2024年2月30日")
    d = bad_doc(97, "柳州市人民政府办公室关于印发政务值班工作规则的通知")
    pdf_doc(code, d, 保管期限="D99")

    # classified: 秘密, printed top-left as GB/T 9704 wants
    code = "INGEST_CLASSIFIED"
    d = bad_doc(98, "柳州市人民政府办公室关于重要目标安全防范工作的通知", classification="秘密", secret="秘密★1年")
    pdf_doc(code, d)

    # password-protected: a user password; and owner-password only (opens, but encrypted)
    code = "INGEST_ENCRYPTED"
    d = bad_doc(99, "柳州市人民政府办公室关于做好重要会议服务保障工作的通知")
    data = make_pdf(d)
    write(folder(code) / d.path,
          rewrite(data, lambda w: w.encrypt(user_password="lzzf2024", owner_password="lzzf-owner", algorithm="RC4-128")))
    _sidecar(folder(code), d)
    d = bad_doc(106, "柳州市人民政府办公室关于规范公文印制工作的通知")
    data = make_pdf(d)
    write(folder(code) / d.path,
          rewrite(data, lambda w: w.encrypt(user_password="", owner_password="lzzf-owner", algorithm="RC4-128")))
    _sidecar(folder(code), d)

    # a PDF cut short, and an empty file
    code = "INGEST_UNREADABLE"
    d = bad_doc(100, "柳州市人民政府办公室关于开展城乡环境综合整治的通知")
    data = make_pdf(d)
    write(folder(code) / d.path, data[: len(data) * 3 // 5])
    _sidecar(folder(code), d)
    d = bad_doc(101, "柳州市人民政府办公室关于加强城市道路管理的通知")
    write(folder(code) / d.path, b"")
    _sidecar(folder(code), d)

    # JavaScript run on opening; an embedded file
    code = "INGEST_ACTIVE_CONTENT"
    d = bad_doc(102, "柳州市人民政府办公室关于做好网络安全工作的通知")

    def open_action(w: PdfWriter) -> None:
        w._root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('本文件需要启用脚本');"),
        })

    write(folder(code) / d.path, rewrite(make_pdf(d), open_action))
    _sidecar(folder(code), d)
    d = bad_doc(103, "柳州市人民政府办公室关于报送统计数据的通知")
    write(folder(code) / d.path,
          rewrite(make_pdf(d), lambda w: w.add_attachment("统计报表.txt", "单位,数量\n市直,12\n".encode())))
    _sidecar(folder(code), d)

    # a sidecar naming an attachment that is not there
    code = "INGEST_ATTACHMENT_MISSING"
    d = bad_doc(104, "柳州市人民政府办公室关于印发重点工作督查方案的通知")
    pdf_doc(code, d, 附件=["柳政办发〔2024〕104号_附件_督查方案.pdf"])

    # a JPEG named .pdf: a warning, not a refusal
    code = "INGEST_EXTENSION_MISMATCH"
    d = bad_doc(105, "柳州市人民政府办公室关于做好高温天气防暑降温工作的通知")
    write(folder(code) / d.path, make_jpeg(d, ttf))
    _sidecar(folder(code), d)


def main() -> None:
    ttf_path = cjk_font()
    try:
        from pypdf import PdfReader  # noqa: F401
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfbase.ttfonts import TTFont
    except ImportError as e:
        fail(f"{e}; install the samples extra: .venv/bin/pip install -e '.[samples]'")
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    try:
        pdfmetrics.registerFont(TTFont("CJK", str(ttf_path), subfontIndex=0))
    except Exception as e:  # reportlab raises TTFError and others for fonts it cannot embed
        fail(f"cannot use {ttf_path} as the embedded CJK font: {e}")
    for sub in ("drop", "bad"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    build_city(str(ttf_path))
    build_bad(str(ttf_path))
    (HERE / "city.toml").write_text(city_toml(), encoding="utf-8")
    n = sum(1 for d in DOCS)
    print(f"wrote {n} documents for {len(AGENCIES)} agencies under {HERE / 'drop'}, bad inputs under {HERE / 'bad'}")


if __name__ == "__main__":
    main()
