"""The console's words in zh-CN (the default) and English, and locale-aware formatting.

Why a dict catalogue rather than gettext ``messages.po`` files: gettext needs ``pybabel
compile`` at build time to produce the ``.mo`` files Flask-Babel reads, and a forgotten or
stale compile fails silently (the page quietly shows the msgid). A plain dict needs no build
step, is checked by mypy, and ``tests/web/test_console.py`` asserts that both languages have
exactly the same keys, so a missing translation fails the suite instead of a page.
Flask-Babel still does what it is good at: picking the locale and timezone per request and
formatting dates and numbers from the CLDR data (``2026年11月26日 08:30`` /
``26 Nov 2026 08:30``, ``4,000``).

Field labels come from :data:`schemas.spreadsheet.FIELD_LABELS`, so a form field and the
spreadsheet column for the same payload field always carry the same name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_decimal
from flask_babel import format_date, format_datetime, get_locale

from schemas.spreadsheet import FIELD_LABELS
from web.console import i18n_risk, i18n_scope

__all__ = ["DEFAULT_LOCALE", "LOCALES", "MESSAGES", "choice_label", "current_locale",
           "field_error",
           "field_label", "format_moment", "format_quantity", "pick", "t"]

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"

_ZH: dict[str, str] = {
    "app.title": "质监溯源网",
    "app.subtitle": "企业控制台",
    "app.footer": "每条记录都由企业密钥签名，写入只增不改、可验证的哈希链账本。",
    "nav.dashboard": "批次总览",
    "nav.import": "批量导入",
    "nav.recalls": "召回",
    "nav.reports": "质量报告",
    "nav.risk": "风险预警",
    "nav.spot_checks": "双随机抽查",
    "nav.standards": "标准预警",
    "recalls.title": "缺陷产品召回",
    "recalls.intro": "本企业发起、承担或被通知的召回（监管人员：全部召回），"
                     "及各企业的完成情况和期限。",
    "recalls.col.status": "状态",
    "recalls.lots": "{count} 个批次",
    "recalls.progress_cell": "{complete}/{holders} 家完成（{percent}%）",
    "recalls.none": "暂无与本企业有关的召回。",
    "recalls.others": "其他进行中的召回（公告）",
    "recall.level": "召回级别",
    "recall.level_deadlines": "{hours} 小时内启动，{days} 个工作日内完成",
    "recall.field.reason": "召回原因",
    "recall.field.hazard": "危害",
    "recall.field.consumer_advice": "消费者须知",
    "recall.field.evidence": "证明材料编号",
    "recall.field.note": "说明",
    "recall.field.complete": "本企业的召回工作已全部完成",
    "recall.field.report": "召回总结报告编号",
    "recall.field.cause": "原因分析（原因未查清不放过）",
    "recall.field.responsibility": "责任处理（责任人员未处理不放过）",
    "recall.field.lessons": "教育总结（有关人员未受到教育不放过）",
    "recall.field.corrective_actions": "整改措施（整改措施未落实不放过）",
    "recall.advice_default": "可不填，使用默认提示",
    "recall.start_submit": "发起责令召回并通知各企业",
    "recall.new_title": "责令召回",
    "recall.new_intro": "由监管部门责令生产者召回：召回范围为该批次及用它生产的全部下游批次，"
                        "发起时自动展开并连同账本规模记入账本，涉及的每家企业都会收到通知。",
    "recall.scope_preview": "召回范围：{lots} 个批次，{holders} 家企业",
    "recall.scope_as_of": "按当前账本（规模 {size}）计算；发起时按当时的账本重新计算并记录。",
    "recall.col.holder": "企业",
    "recall.col.held": "持有量",
    "recall.col.state": "进度",
    "recall.col.lots": "持有及处置",
    "recall.col.reports": "进度报告",
    "recall.col.notice": "通知推送",
    "recall.col.via": "纳入方式",
    "recall.status.open": "召回中",
    "recall.status.closed": "已结束",
    "recall.kind.ordered": "责令召回",
    "recall.kind.voluntary": "主动召回",
    "recall.overdue_flag": "有企业逾期",
    "recall.producer": "召回企业",
    "recall.initiator": "发起单位",
    "recall.initiated_at": "发起时间",
    "recall.start_by": "应启动于",
    "recall.complete_by": "应完成于",
    "recall.closed_at": "结束时间",
    "recall.progress": "完成情况",
    "recall.progress_total": "{complete}/{holders} 家企业已完成（{percent}%），"
                             "{acknowledged} 家已报告进度",
    "recall.overdue_count": "{count} 家逾期",
    "recall.start_late_count": "{count} 家未按时启动",
    "recall.activity.withdrawn": "下架",
    "recall.activity.retrieved": "追回",
    "recall.activity.destroyed": "销毁",
    "recall.activity.reworked": "无害化处理",
    "recall.holders": "涉及企业（{count}）",
    "recall.your_part": "本企业的召回任务",
    "recall.state.issued": "已通知",
    "recall.state.acknowledged": "处理中",
    "recall.state.complete": "已完成",
    "recall.overdue": "逾期",
    "recall.start_late": "启动超时",
    "recall.completed_late": "逾期完成",
    "recall.held_short": "持有",
    "recall.no_holdings": "无持有（负责实施召回）",
    "recall.evidence_short": "证明：",
    "recall.no_reports": "尚未报告",
    "recall.delivery.pending": "待推送",
    "recall.delivery.failed": "推送失败，将重试",
    "recall.delivery.delivered": "已送达",
    "recall.delivery.dead": "推送失败（已停止）",
    "recall.console_only": "仅控制台通知",
    "recall.report_title": "报告召回进度",
    "recall.report_intro": "填写本次新增的数量（单位同持有量）：下架为撤下货架，"
                           "追回为从消费者处收回，销毁或无害化处理后不再计入库存。"
                           "报告了数量须附证明材料编号。",
    "recall.report_submit": "签名并提交进度",
    "recall.closure": "召回总结（四不放过）",
    "recall.closed_by": "由 {name} 审核结束，账本序号 seq {seq}",
    "recall.close_title": "结束召回",
    "recall.close_intro": "结束召回须完成“四不放过”评估，四项均为必填，写入账本后不可更改。",
    "recall.close_submit": "签名并结束召回",
    "recall.needs_regulator": "责令召回须由监管部门审核后结束。",
    "recall.scope": "召回范围（{count} 个批次）",
    "recall.via.named": "责令召回的批次",
    "recall.via.downstream": "下游批次",
    "recall.via.made_from": "召回后用其生产",
    "recall.order_title": "发起责令召回",
    "recall.order_intro": "召回批次 {gtin} / {lot} 及其下游全部批次（即上方的下游流向），"
                          "通知所有持有企业。",
    "recall.see_scope": "查看召回范围",
    "recall.started": "已发起召回 seq {seq}，已通知 {holders} 家企业",
    "recall.not_started": "未发起召回，请更正标出的项目。",
    "recall.progress_recorded": "召回进度已写入账本，序号 seq {seq}",
    "recall.closed_recorded": "召回已结束，账本序号 seq {seq}",
    "recall.not_recorded": "未写入账本，请更正标出的项目。",
    "banner.title": "召回通知：{products}",
    "banner.due": "须在 {date} 前完成。",
    "banner.open_holder": "查看并报告进度",
    "banner.open_full": "查看完成情况",
    "nav.trace": "溯源查询",
    "trace.title": "溯源查询",
    "trace.under_recall": "批次 {gtin} / {lot} 正在召回中（召回 seq {seq}）",
    "trace.see_recall": "查看召回",
    "trace.scope_all": "监管人员可查看任一批次的全部下游流向和上游来源。",
    "trace.scope_own": "可查看本企业生产或持有批次的全部上游来源；"
                       "下游只显示到本企业的直接客户。",
    "trace.or": "或",
    "trace.code": "单品码或物流码",
    "trace.as_of": "截至",
    "trace.optional": "可选：账本规模或时间",
    "trace.submit": "查询",
    "trace.hint": "按商品条码和批号查询一个批次，或输入单品码 (01)…(21)… / "
                  "物流单元码 (00)… 查询它所属的批次。填写“截至”则按当时的账本作答。",
    "trace.downstream": "下游流向（去向）",
    "trace.upstream": "上游来源（来源）",
    "trace.summary": "涉及 {lots} 个批次、{holdings} 个企业持有环节；账本规模 {size}",
    "trace.truncated.depth": "结果已截断：只追溯到第 {depth} 步，更远的环节没有显示。",
    "trace.truncated.limit": "结果已截断：超过 {limit} 条，只显示了前 {limit} 条。",
    "trace.truncated.scope": "结果已截断：企业只能看到直接客户为止，直接客户之后的流向"
                             "没有显示（监管部门可查看全部）。",
    "trace.unit_chain": "所查的码及其外包装：",
    "trace.col.holder": "企业 · 批次",
    "trace.col.link": "环节（账本条目）",
    "trace.col.received": "收到",
    "trace.col.produced": "生产",
    "trace.col.passed_on": "转出",
    "trace.col.used": "投产",
    "trace.col.held": "现存",
    "trace.col.origin": "来源企业",
    "trace.off_ledger": "未入网的供应商",
    "trace.end.downstream": "终端商品",
    "trace.end.upstream": "源头",
    "trace.see_above": "↑ 详见上文",
    "trace.shown_above": "数量见上文同一企业批次",
    "trace.kind.production": "生产投料",
    "trace.kind.shipment": "发货",
    "trace.kind.material_intake": "原辅料进厂",
    "trace.receipts": "收货",
    "trace.none_yet": "尚未收货",
    "trace.received_so_far": "已收 {amount}",
    "trace.in_transit": "在途 {amount}",
    "trace.start": "查询起点",
    "trace.lots_reached": "涉及的批次（{count}）",
    "trace.unregistered": "未登记产品（原辅料）",
    "trace.units": "单品码 {units} 个，包装/物流单元 {aggregates} 个",
    "trace.units_shown": "只列出前 {limit} 个",
    "trace.forbidden": "只能查询本企业生产或持有的批次",
    "trace.lot_not_found": "账本中没有批次 {gtin} / {lot}",
    "trace.unit_not_found": "账本中没有码 {code}",
    "trace.bad_as_of": "“截至”应为账本规模（数字）或带时区的时间，"
                       "如 2026-11-02T08:00:00+08:00，且不能超过当前账本规模",
    "nav.signout": "退出",
    "nav.switch_language": "English",
    "login.title": "登录企业控制台",
    "login.username": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.failed": "用户名或密码错误",
    "login.required": "请先登录",
    "login.signed_out": "已退出登录",
    "login.throttled": "登录失败次数过多（同一账号每分钟最多 {account} 次，同一地址每分钟最多 "
                       "{address} 次），请在 {seconds} 秒后再试",
    "login.code_title": "输入动态验证码",
    "login.code": "动态验证码（6 位数字）",
    "login.code_help": "打开您的身份验证器应用（如 Google Authenticator、Microsoft "
                       "Authenticator、FreeOTP），输入 Tracenet 账号显示的 6 位数字。",
    "login.code_failed": "验证码错误或已使用过，请输入新的验证码",
    "login.code_submit": "验证",
    "login.expired": "登录步骤已超时，请重新输入用户名和密码",
    "login.enrol_title": "设置双重验证",
    "login.enrol_help": "监管人员和管理员账号需要第二重验证。请用身份验证器应用扫描二维码"
                        "（或手动输入下面的密钥），然后输入应用显示的 6 位数字完成设置。"
                        "设置完成后才能登录。",
    "login.enrol_secret": "密钥",
    "login.enrol_qr": "身份验证器二维码",
    "login.enrol_submit": "确认并登录",
    "login.enrolled": "双重验证已设置",
    "csrf.expired": "表单已过期或来源无效，请重新提交",
    "role.producer": "生产经营者",
    "role.regulator": "监管人员",
    "role.admin": "管理员",
    "role.association": "行业协会",
    "nav.credit": "质量信用",
    "units.title": "单品赋码",
    "units.no_lot": "批次 {gtin}/{lot} 不存在",
    "units.count": "已赋码单品",
    "units.how_many": "本次赋码数量",
    "units.hint": ("每个单品得到随机序列号和 20 位电子监管码，记入一条赋码记录"
                   "（一次最多 100,000 个）。"),
    "units.serialise": "赋码",
    "units.serialised": "已为 {count} 个单品赋码（seq {seq}）",
    "units.count_invalid": "请输入 1 到 100,000 之间的整数",
    "units.not_maker": "只有批次的生产企业可以赋码和打印标签。",
    "units.labels": "单品码与标签",
    "units.sheet": "打印标签（A4 PDF）",
    "units.sheet_hint": "每页 2×7 个标签，本文件含前 {count} 个",
    "units.serial": "序列号",
    "units.code": "电子监管码",
    "units.label": "标签",
    "units.more": "仅列出前 {shown} 个，共 {total} 个",
    "units.link": "赋码",
    "dashboard.title": "批次总览",
    "dashboard.own": "本企业生产或持有的批次",
    "dashboard.all": "全部企业的批次（只读）",
    "dashboard.empty": "暂无批次。可以先登记产品，再录入原辅料进厂或生产记录。",
    "dashboard.more": "仅显示最近 {limit} 个批次",
    "export.title": "FSMA 204 导出",
    "export.intro": ("美国 FDA 食品可追溯性规则（FSMA 204）要求的电子可排序表格："
                     "所选日期内每个关键追踪事件（接收、发运、转化、初次包装）一行。"),
    "export.from": "起始日期",
    "export.to": "截止日期",
    "export.format": "格式",
    "export.button": "导出 FSMA 204 表格",
    "export.invalid": "无法导出：{message}",
    "col.product": "产品",
    "col.gtin": "商品条码",
    "col.lot": "批号",
    "col.origin": "来源",
    "col.produced_at": "生产时间",
    "col.expiry": "保质期至",
    "col.quantity": "批次数量",
    "col.stock": "本企业库存",
    "col.stock_all": "各企业库存合计",
    "col.inspection": "检验状态",
    "status.pass": "合格",
    "status.fail": "不合格",
    "status.none": "未检验",
    "origin.production": "自产",
    "origin.material_intake": "原辅料进厂",
    "type.product_registered": "产品登记",
    "type.material_intake": "原辅料进厂",
    "type.additive_filing": "添加剂备案",
    "type.production": "生产记录",
    "type.inspection": "检验记录",
    "type.shipment": "发货（流向登记）",
    "type.receipt": "收货",
    "type.serialization": "单品赋码",
    "type.aggregation": "包装关联",
    "type.epcis_event": "EPCIS 事件（原样保存）",
    "type.gs1_keys_registered": "GS1 厂商识别代码 / GLN 登记",
    "form.signed_as": "提交后以 {enterprise} 的托管密钥签名并写入账本",
    "form.submit": "签名并提交",
    "form.required": "必填",
    "form.choose": "请选择",
    "form.yes": "是",
    "form.no": "否",
    "form.pass": "合格",
    "form.fail": "不合格",
    "form.add_row": "添加一行",
    "form.list_hint": "多个值用分号 ; 分隔",
    "form.errors": "提交未成功，请更正标出的项目。",
    "form.recorded": "已写入账本，序号 seq {seq}",
    "form.rejected": "账本规则拒绝了这条记录：{message}",
    "notice.warning": "警告",
    "notice.notice": "提示",
    "import.title": "批量导入",
    "import.intro": "每个文件只包含一种记录。第 1 行为表头，之后每行一条记录。"
                    "所有行都校验通过才会写入，并且作为一个批次原子地写入账本。",
    "import.type": "记录类型",
    "import.file": "文件（CSV 或 XLSX）",
    "import.submit": "校验并导入",
    "import.templates": "模板下载",
    "import.encodings": "多值单元格：投入原料批次写作 gtin:lot:quantity:unit，"
                        "检验项目写作 name=value|limit|unit|pass，多条之间用分号 ; 分隔。"
                        "event_time 可留空，此时取记录自身的时间（如收货时间）。",
    "import.no_file": "请选择要导入的文件",
    "import.done": "已导入 {count} 条记录，账本序号 seq {first}–{last}",
    "import.failed": "发现 {count} 处问题，未导入任何记录。请修改后重新上传。",
    "import.report": "问题报告",
    "import.row": "行",
    "import.column": "列",
    "import.message": "问题",
    "import.whole_file": "整个文件",
    "import.shown": "仅显示前 {limit} 条",
    "error.unknown_type": "未知的记录类型",
    "choice.kind.self": "企业自检",
    "choice.kind.third_party": "委托检验",
    "choice.kind.spot_check": "监督抽检",
    "choice.kind.incoming": "进货检验",
    "choice.verdict.pass": "合格",
    "choice.verdict.fail": "不合格",
    # the incident view (web/console/incident.py)
    "nav.incident": "事故处置",
    "incident.title": "事故处置",
    "incident.intro": "查找涉事批次：批号、产品（名称或 GTIN）、企业（名称或统一社会信用代码）"
                      "或单品码；查看上下游溯源图，直接责令召回，并跟踪进行中召回的期限。",
    "incident.search_label": "批号、产品、企业或单品码",
    "incident.search_placeholder": "如 生乳、SR20261102、闽榕乳业、"
                                   "(01)…(21)…",
    "incident.search": "查找",
    "incident.hint": "扫码枪或手机扫出的条码、GS1 数字链接、20 位监管码都可以直接粘贴。",
    "incident.found": "“{query}”：找到 {count} 个批次",
    "incident.by_unit": "按单品码 {code} 找到",
    "incident.col.recall": "召回",
    "incident.col.matched": "匹配",
    "incident.recall.open": "召回中",
    "incident.recall.closed": "召回已结束",
    "incident.matched.lot": "批号",
    "incident.matched.product": "产品",
    "incident.matched.enterprise": "企业",
    "incident.matched.unit": "单品码",
    "incident.more": "仅列出前 {shown} 个（共 {total} 个），请输入更具体的内容。",
    "incident.nothing": "没有找到匹配的批次。",
    "incident.bad_lot": "无法识别该批次地址，请重新查找。",
    "incident.open_recalls": "进行中的召回",
    "incident.initiated": "{at} 发起",
    "incident.start_by": "启动期限 {at}",
    "incident.complete_by": "完成期限 {at}",
    "incident.past_deadline": "已超期 {days} 天",
    "incident.days_left": "剩余 {days} 天",
    "incident.start_late": "{count} 家未按期启动",
    "incident.no_open_recalls": "目前没有进行中的召回。",
    "incident.reach": "下游范围",
    "incident.reach_value": "{lots} 个批次，{holders} 家企业",
    "incident.inspection_kind.self": "自检",
    "incident.inspection_kind.third_party": "委托检验",
    "incident.inspection_kind.spot_check": "监督抽检",
    "incident.inspection_kind.incoming": "进货查验",
    "incident.failed_item": "{name} {value} {unit}（限量 {limit}）",
    "incident.order_recall": "责令召回",
    "incident.full_trace": "溯源明细",
    "incident.graph": "溯源图",
    "incident.show.all": "全部",
    "incident.show.downstream": "下游",
    "incident.show.upstream": "上游",
    "incident.fit": "适应窗口",
    "incident.graph_label": "溯源图：{nodes} 个持有环节，{edges} 条流向",
    "incident.no_script": "溯源图需要 JavaScript；右侧表格列出同样的内容。",
    "incident.legend.start": "查询批次",
    "incident.legend.fail": "检验不合格",
    "incident.legend.pass": "检验合格",
    "incident.legend.none": "未检验",
    "incident.legend.recalled": "召回中",
    "incident.graph_hint": "点击节点查看持有情况，双击打开该批次；拖动平移，滚轮或双指缩放。",
    "incident.already_recalled": "该批次已在召回中（seq {seq}）。"
                                 "如需调整级别或范围，可再发起一次召回。",
    "incident.graph.received": "收货",
    "incident.graph.produced": "生产",
    "incident.graph.passed_on": "发出",
    "incident.graph.used": "投料",
    "incident.graph.held": "结存",
    "incident.graph.open": "打开该批次",
    "incident.graph.order": "对该批次责令召回",
    "incident.graph.entries": "账本记录",
    "incident.graph.recalled": "召回中",
    "incident.graph.start": "查询批次",
    "incident.graph.end": "终端",
    "incident.graph.inspection_fail": "不合格",
    "incident.graph.inspection_pass": "合格",
    "incident.graph.inspection_none": "未检验",
    "incident.graph.off_ledger": "未入网",
}

_EN: dict[str, str] = {
    "app.title": "Tracenet",
    "app.subtitle": "Enterprise console",
    "app.footer": "Every record is signed with your enterprise key and kept in an append-only, "
                  "verifiable hash-chained ledger.",
    "nav.dashboard": "Lots",
    "nav.import": "Import",
    "nav.recalls": "Recalls",
    "nav.reports": "Reports",
    "nav.risk": "Early warning",
    "nav.spot_checks": "Spot checks",
    "nav.standards": "Standards",
    "recalls.title": "Recalls",
    "recalls.intro": "Recalls your enterprise started, carries out or was notified of "
                     "(regulators: all), with each holder's completion and the deadlines.",
    "recalls.col.status": "Status",
    "recalls.lots": "{count} lot(s)",
    "recalls.progress_cell": "{complete}/{holders} done ({percent}%)",
    "recalls.none": "No recalls concern your enterprise.",
    "recalls.others": "Other open recalls (public notices)",
    "recall.level": "Recall class",
    "recall.level_deadlines": "start within {hours} h, complete within {days} working days",
    "recall.field.reason": "Reason",
    "recall.field.hazard": "Hazard",
    "recall.field.consumer_advice": "What consumers should do",
    "recall.field.evidence": "Evidence references",
    "recall.field.note": "Note",
    "recall.field.complete": "Our part of the recall is complete",
    "recall.field.report": "Summary report reference",
    "recall.field.cause": "Cause (found)",
    "recall.field.responsibility": "Responsibility (assigned)",
    "recall.field.lessons": "Lessons (recorded, people taught)",
    "recall.field.corrective_actions": "Corrective actions (in place)",
    "recall.advice_default": "optional: a standard text is shown otherwise",
    "recall.start_submit": "Order the recall and notify every holder",
    "recall.new_title": "Order a recall",
    "recall.new_intro": "The regulator orders the producer to recall: the scope is the lot and "
                        "every lot made from it downstream, expanded when the recall starts and "
                        "stored on the ledger with the ledger size; every enterprise reached "
                        "gets a notice.",
    "recall.scope_preview": "Scope: {lots} lot(s), {holders} enterprise(s)",
    "recall.scope_as_of": "As the ledger stands now (size {size}); it is computed again, and "
                          "stored, when the recall starts.",
    "recall.col.holder": "Enterprise",
    "recall.col.held": "Held",
    "recall.col.state": "Progress",
    "recall.col.lots": "Held and dealt with",
    "recall.col.reports": "Reports",
    "recall.col.notice": "Webhook notice",
    "recall.col.via": "In scope as",
    "recall.status.open": "Open",
    "recall.status.closed": "Closed",
    "recall.kind.ordered": "Ordered recall",
    "recall.kind.voluntary": "Voluntary recall",
    "recall.overdue_flag": "holders overdue",
    "recall.producer": "Recalling producer",
    "recall.initiator": "Started by",
    "recall.initiated_at": "Started",
    "recall.start_by": "Start by",
    "recall.complete_by": "Complete by",
    "recall.closed_at": "Closed",
    "recall.progress": "Completion",
    "recall.progress_total": "{complete}/{holders} holders complete ({percent}%), "
                             "{acknowledged} reported progress",
    "recall.overdue_count": "{count} overdue",
    "recall.start_late_count": "{count} started late",
    "recall.activity.withdrawn": "Withdrawn",
    "recall.activity.retrieved": "Retrieved",
    "recall.activity.destroyed": "Destroyed",
    "recall.activity.reworked": "Reworked",
    "recall.holders": "Holders ({count})",
    "recall.your_part": "Your part of the recall",
    "recall.state.issued": "notified",
    "recall.state.acknowledged": "in progress",
    "recall.state.complete": "complete",
    "recall.overdue": "overdue",
    "recall.start_late": "started late",
    "recall.completed_late": "completed late",
    "recall.held_short": "held",
    "recall.no_holdings": "holds none (carries the recall out)",
    "recall.evidence_short": "evidence:",
    "recall.no_reports": "no report yet",
    "recall.delivery.pending": "queued",
    "recall.delivery.failed": "failed, will retry",
    "recall.delivery.delivered": "delivered",
    "recall.delivery.dead": "failed (gave up)",
    "recall.console_only": "console only",
    "recall.report_title": "Report progress",
    "recall.report_intro": "Enter what was done since your last report, in the unit held: "
                           "withdrawn from sale, retrieved from consumers, destroyed or "
                           "reworked (these two leave stock). Quantities need evidence "
                           "references.",
    "recall.report_submit": "Sign and report",
    "recall.closure": "Closing review (四不放过)",
    "recall.closed_by": "Closed by {name}, ledger entry seq {seq}",
    "recall.close_title": "Close the recall",
    "recall.close_intro": "Closing needs the four-part review (四不放过); each part is required "
                          "and is kept on the ledger for good.",
    "recall.close_submit": "Sign and close the recall",
    "recall.needs_regulator": "An ordered recall is closed by a regulator, who approves it.",
    "recall.scope": "Scope ({count} lots)",
    "recall.via.named": "named in the order",
    "recall.via.downstream": "downstream lot",
    "recall.via.made_from": "made from it after the recall started",
    "recall.order_title": "Order a recall",
    "recall.order_intro": "Recall lot {gtin} / {lot} and every lot downstream of it (the "
                          "downstream above), notifying every enterprise that holds any.",
    "recall.see_scope": "See the scope",
    "recall.started": "Recall seq {seq} ordered; {holders} enterprise(s) notified",
    "recall.not_started": "The recall was not started: please correct the marked fields.",
    "recall.progress_recorded": "Progress recorded as ledger entry seq {seq}",
    "recall.closed_recorded": "Recall closed, ledger entry seq {seq}",
    "recall.not_recorded": "Nothing was recorded: please correct the marked fields.",
    "banner.title": "Recall notice: {products}",
    "banner.due": "To be completed by {date}.",
    "banner.open_holder": "See it and report progress",
    "banner.open_full": "See completion",
    "nav.trace": "Trace",
    "trace.title": "Trace a lot",
    "trace.under_recall": "Lot {gtin} / {lot} is under recall (recall seq {seq})",
    "trace.see_recall": "See the recall",
    "trace.scope_all": "Regulators see every lot's whole downstream and upstream.",
    "trace.scope_own": "You see the whole upstream of lots your enterprise made or holds, and "
                       "downstream as far as your direct customers.",
    "trace.or": "or",
    "trace.code": "Unit or logistics code",
    "trace.as_of": "As of",
    "trace.optional": "optional: a ledger size or a time",
    "trace.submit": "Trace",
    "trace.hint": "Trace a lot by GTIN and lot, or the lot of a unit code (01)…(21)… or a "
                  "logistics unit (00)…. With “as of”, the answer is the ledger as it stood "
                  "then.",
    "trace.downstream": "Downstream (where it went)",
    "trace.upstream": "Upstream (where it came from)",
    "trace.summary": "{lots} lot(s) at {holdings} holding(s); ledger size {size}",
    "trace.truncated.depth": "Truncated: traced {depth} steps deep; further steps are not "
                             "shown.",
    "trace.truncated.limit": "Truncated: more than {limit} results; the first {limit} are "
                             "shown.",
    "trace.truncated.scope": "Truncated: an enterprise sees as far as its direct customers; "
                             "where they passed goods on is not shown (regulators see it).",
    "trace.unit_chain": "The code and what it is packed in:",
    "trace.col.holder": "Holder · lot",
    "trace.col.link": "Step (ledger entries)",
    "trace.col.received": "Received",
    "trace.col.produced": "Produced",
    "trace.col.passed_on": "Passed on",
    "trace.col.used": "Used",
    "trace.col.held": "Holds",
    "trace.col.origin": "From",
    "trace.off_ledger": "supplier not on the network",
    "trace.end.downstream": "consumer goods",
    "trace.end.upstream": "origin",
    "trace.see_above": "↑ shown above",
    "trace.shown_above": "quantities shown above",
    "trace.kind.production": "Production input",
    "trace.kind.shipment": "Shipment",
    "trace.kind.material_intake": "Material intake",
    "trace.receipts": "Receipt",
    "trace.none_yet": "not received yet",
    "trace.received_so_far": "{amount} received",
    "trace.in_transit": "{amount} in transit",
    "trace.start": "where the trace starts",
    "trace.lots_reached": "Lots reached ({count})",
    "trace.unregistered": "unregistered product (material)",
    "trace.units": "{units} unit code(s), {aggregates} case(s) or pallet(s)",
    "trace.units_shown": "showing the first {limit}",
    "trace.forbidden": "You can trace only lots your enterprise made or holds",
    "trace.lot_not_found": "Lot {gtin} / {lot} is not on the ledger",
    "trace.unit_not_found": "Code {code} is not on the ledger",
    "trace.bad_as_of": "“As of” is a ledger size (a number) or a time with an offset, such as "
                       "2026-11-02T08:00:00+08:00, no later than the ledger now",
    "nav.signout": "Sign out",
    "nav.switch_language": "中文",
    "login.title": "Sign in to the enterprise console",
    "login.username": "Username",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.failed": "Wrong username or password",
    "login.required": "Please sign in first",
    "login.signed_out": "Signed out",
    "login.throttled": "Too many failed sign-ins (at most {account} a minute for one account, "
                       "{address} from one address); try again in {seconds} seconds",
    "login.code_title": "Enter your one-time code",
    "login.code": "One-time code (6 digits)",
    "login.code_help": "Open your authenticator app (Google Authenticator, Microsoft "
                       "Authenticator, FreeOTP…) and type the 6 digits it shows for Tracenet.",
    "login.code_failed": "Wrong or already used code; enter a new one",
    "login.code_submit": "Verify",
    "login.expired": "The sign-in step timed out; enter your username and password again",
    "login.enrol_title": "Set up two-step verification",
    "login.enrol_help": "Regulator and administrator accounts need a second factor. Scan the "
                        "QR code with an authenticator app (or type the key below), then enter "
                        "the 6 digits it shows. You can sign in once this is done.",
    "login.enrol_secret": "Key",
    "login.enrol_qr": "QR code for your authenticator app",
    "login.enrol_submit": "Confirm and sign in",
    "login.enrolled": "Two-step verification is set up",
    "csrf.expired": "The form expired or did not come from this site; please submit it again",
    "role.producer": "Producer",
    "role.regulator": "Regulator",
    "role.admin": "Administrator",
    "role.association": "Industry association",
    "nav.credit": "Quality credit",
    "units.title": "Unit codes",
    "units.no_lot": "Lot {gtin}/{lot} is not on the ledger",
    "units.count": "Units serialised",
    "units.how_many": "Units to serialise now",
    "units.hint": ("Each unit gets a random serial and a 20-digit supervision code, recorded "
                   "in one serialization entry (up to 100,000 at a time)."),
    "units.serialise": "Serialise",
    "units.serialised": "Serialised {count} units (seq {seq})",
    "units.count_invalid": "Enter a whole number from 1 to 100,000",
    "units.not_maker": "Only the lot's maker serialises it and prints its labels.",
    "units.labels": "Unit codes and labels",
    "units.sheet": "Print labels (A4 PDF)",
    "units.sheet_hint": "2 × 7 labels a page; this file has the first {count}",
    "units.serial": "Serial",
    "units.code": "Supervision code",
    "units.label": "Label",
    "units.more": "The first {shown} of {total} are listed",
    "units.link": "Units",
    "dashboard.title": "Lots",
    "dashboard.own": "Lots your enterprise produced or holds",
    "dashboard.all": "Lots of all enterprises (read-only)",
    "dashboard.empty": "No lots yet. Register a product, then record a material intake or a "
                       "production.",
    "dashboard.more": "Showing the latest {limit} lots only",
    "export.title": "FSMA 204 export",
    "export.intro": ("The electronic sortable spreadsheet the US FDA's Food Traceability Rule "
                     "(FSMA 204) asks for: one row per critical tracking event (receiving, "
                     "shipping, transformation, initial packing) in the dates chosen."),
    "export.from": "From",
    "export.to": "To",
    "export.format": "Format",
    "export.button": "Export FSMA 204 spreadsheet",
    "export.invalid": "Cannot export: {message}",
    "col.product": "Product",
    "col.gtin": "GTIN",
    "col.lot": "Lot",
    "col.origin": "Origin",
    "col.produced_at": "Produced",
    "col.expiry": "Best before",
    "col.quantity": "Lot quantity",
    "col.stock": "In stock here",
    "col.stock_all": "Held by all",
    "col.inspection": "Inspection",
    "status.pass": "Pass",
    "status.fail": "Fail",
    "status.none": "Not inspected",
    "origin.production": "Produced",
    "origin.material_intake": "Material intake",
    "type.product_registered": "Register product",
    "type.material_intake": "Material intake",
    "type.additive_filing": "Additive filing",
    "type.production": "Production",
    "type.inspection": "Inspection",
    "type.shipment": "Shipment",
    "type.receipt": "Receipt",
    "type.serialization": "Serialization",
    "type.aggregation": "Aggregation",
    "type.epcis_event": "EPCIS event (kept as captured)",
    "type.gs1_keys_registered": "GS1 company prefixes / GLNs registered",
    "form.signed_as": "On submit the record is signed with the custodial key of {enterprise} "
                      "and appended to the ledger",
    "form.submit": "Sign and submit",
    "form.required": "required",
    "form.choose": "Choose…",
    "form.yes": "Yes",
    "form.no": "No",
    "form.pass": "Pass",
    "form.fail": "Fail",
    "form.add_row": "Add a row",
    "form.list_hint": "separate several values with ;",
    "form.errors": "Not recorded: please correct the marked fields.",
    "form.recorded": "Recorded as ledger entry seq {seq}",
    "form.rejected": "A ledger rule refused this record: {message}",
    "notice.warning": "Warning",
    "notice.notice": "Notice",
    "import.title": "Import a spreadsheet",
    "import.intro": "One record type per file. Row 1 is the header; each later row is one "
                    "record. Nothing is written unless every row is valid, and then all rows "
                    "are appended as one atomic batch.",
    "import.type": "Record type",
    "import.file": "File (CSV or XLSX)",
    "import.submit": "Check and import",
    "import.templates": "Templates",
    "import.encodings": "Cells with several values: input lots as gtin:lot:quantity:unit, "
                        "test items as name=value|limit|unit|pass, entries separated by ;. "
                        "event_time may be blank: the record's own time (e.g. received_at) "
                        "is used.",
    "import.no_file": "Choose a file to import",
    "import.done": "Imported {count} records as ledger entries seq {first}–{last}",
    "import.failed": "{count} problem(s) found; nothing was imported. Fix the file and upload "
                     "it again.",
    "import.report": "Problem report",
    "import.row": "Row",
    "import.column": "Column",
    "import.message": "Problem",
    "import.whole_file": "whole file",
    "import.shown": "showing the first {limit}",
    "error.unknown_type": "Unknown record type",
    "choice.kind.self": "Own laboratory",
    "choice.kind.third_party": "Third-party laboratory",
    "choice.kind.spot_check": "Supervisory spot check",
    "choice.kind.incoming": "Incoming inspection",
    "choice.verdict.pass": "Pass",
    "choice.verdict.fail": "Fail",
    # the incident view (web/console/incident.py)
    "nav.incident": "Incidents",
    "incident.title": "Incidents",
    "incident.intro": "Find the lot an incident is about by lot code, product (name or GTIN), "
                      "enterprise (name or USCC) or unit code; see its trace as a graph, order "
                      "its recall, and keep the open recalls' deadlines in sight.",
    "incident.search_label": "Lot, product, enterprise or unit code",
    "incident.search_placeholder": "e.g. raw milk, SR20261102, 闽榕乳业, (01)…(21)…",
    "incident.search": "Search",
    "incident.hint": "Paste a scanner's output, a GS1 Digital Link or a 20-digit supervision "
                     "code as it is.",
    "incident.found": "“{query}”: {count} lot(s) found",
    "incident.by_unit": "Found by the unit code {code}",
    "incident.col.recall": "Recall",
    "incident.col.matched": "Matched",
    "incident.recall.open": "Under recall",
    "incident.recall.closed": "Recall closed",
    "incident.matched.lot": "lot",
    "incident.matched.product": "product",
    "incident.matched.enterprise": "enterprise",
    "incident.matched.unit": "unit code",
    "incident.more": "Only the first {shown} of {total} are listed: search for something more "
                     "specific.",
    "incident.nothing": "No lot matches.",
    "incident.bad_lot": "That lot's address cannot be read; search again.",
    "incident.open_recalls": "Open recalls",
    "incident.initiated": "started {at}",
    "incident.start_by": "start by {at}",
    "incident.complete_by": "complete by {at}",
    "incident.past_deadline": "{days} day(s) past the deadline",
    "incident.days_left": "{days} day(s) left",
    "incident.start_late": "{count} started late",
    "incident.no_open_recalls": "No recall is open.",
    "incident.reach": "Downstream reach",
    "incident.reach_value": "{lots} lot(s), {holders} enterprise(s)",
    "incident.inspection_kind.self": "Own test",
    "incident.inspection_kind.third_party": "Third-party test",
    "incident.inspection_kind.spot_check": "Spot check",
    "incident.inspection_kind.incoming": "Incoming check",
    "incident.failed_item": "{name} {value} {unit} (limit {limit})",
    "incident.order_recall": "Order a recall",
    "incident.full_trace": "Full trace",
    "incident.graph": "Trace graph",
    "incident.show.all": "All",
    "incident.show.downstream": "Downstream",
    "incident.show.upstream": "Upstream",
    "incident.fit": "Fit",
    "incident.graph_label": "Trace graph: {nodes} holding(s), {edges} flow(s)",
    "incident.no_script": "The graph needs JavaScript; the tables beside it list the same.",
    "incident.legend.start": "Lot searched",
    "incident.legend.fail": "Failed inspection",
    "incident.legend.pass": "Passed",
    "incident.legend.none": "Not inspected",
    "incident.legend.recalled": "Under recall",
    "incident.graph_hint": "Tap a node for its holding, double-tap to open that lot; drag to "
                           "pan, scroll or pinch to zoom.",
    "incident.already_recalled": "This lot is already under recall (seq {seq}). Order another "
                                 "recall only to change its level or scope.",
    "incident.graph.received": "Received",
    "incident.graph.produced": "Produced",
    "incident.graph.passed_on": "Passed on",
    "incident.graph.used": "Used",
    "incident.graph.held": "Held",
    "incident.graph.open": "Open this lot",
    "incident.graph.order": "Order its recall",
    "incident.graph.entries": "Ledger entries",
    "incident.graph.recalled": "Under recall",
    "incident.graph.start": "Lot searched",
    "incident.graph.end": "End",
    "incident.graph.inspection_fail": "Fail",
    "incident.graph.inspection_pass": "Pass",
    "incident.graph.inspection_none": "Not inspected",
    "incident.graph.off_ledger": "not on the network",
}

MESSAGES: dict[str, dict[str, str]] = {"zh_CN": _ZH, "en": _EN}
_ZH.update(i18n_scope.ZH)
_EN.update(i18n_scope.EN)
_ZH.update(i18n_risk.ZH)
_EN.update(i18n_risk.EN)

#: units as a reader of each language writes them after a number
_UNIT_NAMES: dict[str, dict[str, str]] = {
    "zh_CN": {"kg": "千克", "g": "克", "t": "吨", "L": "升", "mL": "毫升", "pcs": "件",
              "case": "箱"},
    "en": {"kg": "kg", "g": "g", "t": "t", "L": "L", "mL": "mL", "pcs": "pcs", "case": "cases"},
}

#: marshmallow's own generic messages, which are English only; identifier validators in
#: schemas/ also speak English and are shown as they are
_ZH_FIELD_ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Missing data for required field\.$"), "此项必填"),
    (re.compile(r"^Field may not be null\.$"), "此项不能为空"),
    (re.compile(r"^Not a valid boolean\.$"), "请选择是或否"),
    (re.compile(r"^Not a valid string\.$"), "应为文本"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"须为以下之一：\1"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"至少需要 \1 项（或 \1 个字符）"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"最多 \1 个字符"),
    (re.compile(r"^expected a plain decimal number$"), "应为普通小数，如 12.5"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度应在 \1 到 \2 之间"),
    (re.compile(r"^must not be blank$"), "不能只有空白"),
    (re.compile(r"^Must be greater than or equal to (\d+)\.$"), r"应不小于 \1"),
    (re.compile(r"^Not a valid integer\.$"), "应为整数"),
]


def current_locale() -> str:
    """``zh_CN`` or ``en``: the locale Flask-Babel selected for this request."""
    locale = str(get_locale() or DEFAULT_LOCALE)
    return locale if locale in MESSAGES else DEFAULT_LOCALE


def t(key: str, **params: object) -> str:
    """The console string ``key`` in the current locale, with ``{name}`` filled in.

    An unknown key shows as itself, so a typo is visible on the page rather than an error.
    """
    text = MESSAGES[current_locale()].get(key, key)
    return text.format(**params) if params else text


def page_words(words: Mapping[str, Mapping[str, str]]) -> Callable[..., str]:
    """``t`` for pages that have words of their own: ``words[locale][key]`` with ``{name}``
    filled in, else the console's string :func:`t`."""
    def page_t(key: str, **params: object) -> str:
        text = words[current_locale()].get(key)
        if text is None:
            return t(key, **params)
        return text.format(**params) if params else text
    return page_t


def public_page_helpers(words: Callable[..., str]) -> dict[str, Any]:
    """What the console's base template reads, for a public page (``words`` its ``t``):
    nobody is signed in there."""
    return {"t": words, "pick": pick, "format_moment": format_moment,
            "locale": current_locale(), "user": None, "enterprise_name": None,
            "form_types": ()}


def pick(zh: str | None, en: str | None) -> str:
    """Of a message given in both languages, the one for the current locale."""
    if current_locale() == "zh_CN":
        return zh or en or ""
    return en or zh or ""


def field_label(name: str) -> str:
    """The label of payload field ``name`` in the current locale."""
    labels = FIELD_LABELS.get(name)
    return name if labels is None else pick(*labels)


def choice_label(field: str, value: str, default: str) -> str:
    """How a select shows choice ``value`` of ``field`` (the value itself when it is a code
    everyone reads the same way, such as a unit)."""
    key = f"choice.{field}.{value}"
    text = MESSAGES[current_locale()].get(key)
    return f"{text} ({value})" if text else default


def field_error(message: str) -> str:
    """A validation message in the current locale where a translation is known."""
    if current_locale() != "zh_CN":
        return message
    for pattern, replacement in _ZH_FIELD_ERRORS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


_MOMENT_FORMATS = {"zh_CN": "y年M月d日 HH:mm", "en": "d MMM y HH:mm"}
_DATE_FORMATS = {"zh_CN": "y年M月d日", "en": "d MMM y"}


def format_moment(value: str | None) -> str:
    """An RFC 3339 time (or a plain date) as readers of the locale expect it, in the user's
    time zone: ``2026年11月26日 08:30`` / ``26 Nov 2026 08:30``. Unparseable text is shown
    as it is rather than hidden."""
    if not value:
        return ""
    try:
        if len(value) == 10:
            return str(format_date(date.fromisoformat(value), _DATE_FORMATS[current_locale()]))
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return value
    return str(format_datetime(moment, _MOMENT_FORMATS[current_locale()]))


def format_quantity(quantity: str | None, unit: str | None) -> str:
    """A quantity with its unit, grouped as the locale groups digits: ``4,000 件``."""
    if quantity is None:
        return ""
    try:
        number = format_decimal(Decimal(quantity), locale=current_locale(),
                                decimal_quantization=False)
    except InvalidOperation:
        number = quantity
    names = _UNIT_NAMES[current_locale()]
    return f"{number} {names.get(unit or '', unit or '')}".strip()
