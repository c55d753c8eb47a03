"""The supervision rules' vocabulary: each rule's code and its message in zh-CN and English.

A rule either refuses an entry (:class:`RuleViolation`, an HTTP 422 with ``rule.<code>``) or
lets it through with a :class:`Notice` (a standard about to be replaced, say), stored against
the entry and returned with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.errors import FieldPath, LedgerError, render_field

__all__ = ["RULES", "Notice", "RuleViolation"]

#: code -> (zh-CN message, English message); ``{name}`` fields are filled from the rule.
RULES: dict[str, tuple[str, str]] = {
    "product.duplicate": ("商品条码 {gtin} 已登记", "GTIN {gtin} is already registered"),
    "product.unknown": ("商品条码 {gtin} 未登记", "GTIN {gtin} is not registered"),
    "product.not_owner": ("商品 {gtin} 由 {owner} 登记，不属于本企业",
                          "product {gtin} is registered by {owner}, not by this enterprise"),
    "product.numbers_exhausted": ("产品编号已用尽（上限 {limit}）",
                                  "every product number up to {limit} is taken"),
    "category.unknown": ("产品类别 {category} 不在 69 类目录中",
                         "category {category} is not one of the 69 supervised categories"),
    "additive.not_food": ("{gtin} 不是食品，无需添加剂备案",
                          "{gtin} is not a food product; additive filings are for food"),
    "additive.not_permitted": ("添加剂 {additive} 不允许用于 {category_name}",
                               "additive {additive} is not permitted in {category_name}"),
    "additive.over_limit": ("添加剂 {additive} 用量 {level} {unit} 超过最大使用量 {limit} {unit}",
                            "additive {additive} at {level} {unit} exceeds the maximum "
                            "{limit} {unit}"),
    "additive.not_filed": ("添加剂 {additive} 未备案，不得使用",
                           "additive {additive} is used without a filing for {gtin}"),
    "lot.duplicate": ("批次 {gtin}/{lot} 已存在", "lot {gtin}/{lot} already exists"),
    "lot.unknown": ("批次 {gtin}/{lot} 不存在", "lot {gtin}/{lot} is not on the ledger"),
    "unit.mismatch": ("批次 {lot} 以 {expected} 计量，不能用 {got}",
                      "lot {lot} is measured in {expected}, not {got}"),
    "material.rejected": ("原料批次 {gtin}/{lot} 进厂验收不合格，不得投产",
                          "input lot {gtin}/{lot} was rejected at intake and may not be used"),
    "material.failed_inspection": ("投入批次 {gtin}/{lot} 检验不合格，不得投产",
                                   "input lot {gtin}/{lot} failed inspection and may not be "
                                   "used"),
    "stock.insufficient": ("批次 {gtin}/{lot} 库存不足：现有 {have} {unit}，需要 {need} {unit}",
                           "not enough of lot {gtin}/{lot}: {have} {unit} held, {need} {unit} "
                           "needed"),
    "shipment.not_inspected": ("批次 {gtin}/{lot} 无合格检验记录，不合格产品不出厂",
                               "lot {gtin}/{lot} has no passing inspection and may not ship"),
    "shipment.failed_inspection": ("批次 {gtin}/{lot} 最近一次检验不合格，不合格产品不出厂",
                                   "lot {gtin}/{lot} failed its latest inspection and may not "
                                   "ship"),
    "inspection.verdict_mismatch": ("检验项目 {item} 不合格，结论不能为合格",
                                    "item {item} failed, so the verdict cannot be pass"),
    "receipt.no_shipment": ("没有 {counterparty} 发往本企业的批次 {gtin}/{lot} 发货记录",
                            "no shipment of lot {gtin}/{lot} from {counterparty} to this "
                            "enterprise"),
    "receipt.exceeds_shipment": ("收货 {need} {unit} 超过未收发货量 {have} {unit}",
                                 "receipt of {need} {unit} exceeds the {have} {unit} shipped "
                                 "and not yet received"),
    "unit.duplicate": ("单品码 {code} 已存在", "unit code {code} already exists"),
    "unit.unknown": ("单品码 {code} 不存在", "unit code {code} is not on the ledger"),
    "unit.exceeds_lot": ("批次 {gtin}/{lot} 共 {quantity} {unit}，已赋码 {serialized} 个，"
                         "不能再赋码 {count} 个",
                         "lot {gtin}/{lot} has {quantity} {unit} and {serialized} of them are "
                         "serialised: {count} more would give codes to units that were never "
                         "made"),
    "unit.codes_mismatch": ("监管码 {codes} 个，与序列号 {serials} 个不一致",
                            "{codes} supervision codes for {serials} serials: give one per "
                            "serial, in the same order"),
    "unit.code_malformed": ("监管码 {code} 不是 20 位数字或校验位错误",
                            "supervision code {code} is not 20 digits with a valid check "
                            "digit"),
    "unit.code_wrong_product": ("监管码 {code} 的产品编号 {got} 不是商品 {gtin} 的编号 {expected}",
                                "supervision code {code} carries product number {got}, but "
                                "{gtin} is product number {expected}"),
    "unit.code_reused": ("监管码 {code} 的单品编号 {unit} 已使用（已用至 {issued}）",
                         "supervision code {code} reuses unit number {unit}: numbers up to "
                         "{issued} are taken, and each code of an entry must be higher than "
                         "the one before"),
    "unit.serialization_required": (
        "{category_name}类产品须赋单品码：批次 {gtin}/{lot} 未赋码，不得发货",
        "{category_name_en} must be serialised: lot {gtin}/{lot} has no unit codes and may "
        "not ship until its units are serialised"),
    "correction.unknown": ("被更正的记录 seq {target} 不存在", "no record at seq {target}"),
    "correction.not_own": ("只能更正本企业的记录", "an enterprise corrects only its own records"),
    "correction.unsupported": ("{type} 记录不能更正，请登记反向记录",
                               "{type} records cannot be corrected; record a compensating "
                               "entry instead"),
    "correction.superseded": ("记录 seq {target} 已被 seq {by} 更正",
                              "record {target} was already superseded by seq {by}"),
    "correction.key_changed": ("更正不能改变记录的 {name}（原为 {was}），请登记新记录",
                               "a correction cannot change the record's {name} (it was {was}); "
                               "record a new one instead"),
    "correction.already_received": ("发货 seq {target} 已有收货，不能更正，请登记反向记录",
                                    "shipment {target} was already (partly) received; record "
                                    "a compensating entry instead"),
    "standard.withdrawn": ("执行标准 {standard} 已废止{replacement_zh}",
                           "standard {standard} is withdrawn{replacement_en}"),
    "standard.being_replaced": ("执行标准 {standard} 将被 {replaced_by} 代替",
                                "standard {standard} is being replaced by {replaced_by}"),
    "standard.not_yet_effective": ("执行标准 {standard} 尚未实施（{effective_from} 起实施）",
                                   "standard {standard} is not in force until "
                                   "{effective_from}"),
    "recall.active": ("批次 {gtin}/{lot} 正在{level_zh}中（召回 seq {recall}），不得发货或投产",
                      "lot {gtin}/{lot} is under an open {level_en} (seq {recall}) and may not "
                      "be shipped or used in production"),
    "recall.not_regulator": ("责令召回由监管部门发起，{enterprise} 不是监管部门",
                             "an ordered recall is started by a regulator; {enterprise} is "
                             "not one"),
    "recall.not_producer": ("主动召回由批次的生产者发起，批次 {gtin}/{lot} 的生产者是 {origin}",
                            "a voluntary recall is started by the lots' producer; lot "
                            "{gtin}/{lot} was produced by {origin}"),
    "recall.producer_unrelated": ("{producer} 未生产召回范围内的任何批次",
                                  "{producer} produced none of the lots in the recall's "
                                  "scope"),
    "recall.scope_incomplete": ("召回范围未包含点名召回的批次 {gtin}/{lot}",
                                "the recall's scope leaves out the named lot {gtin}/{lot}"),
    "recall.unknown": ("召回 seq {recall} 不存在", "no recall at seq {recall}"),
    "recall.closed": ("召回 seq {recall} 已结束", "recall {recall} is already closed"),
    "recall.not_holder": ("召回 seq {recall} 未通知 {enterprise}，无进度可报",
                          "recall {recall} did not reach {enterprise}, so it has no progress "
                          "to report"),
    "recall.lot_not_in_scope": ("批次 {gtin}/{lot} 不在召回 seq {recall} 的范围内",
                                "lot {gtin}/{lot} is not in the scope of recall {recall}"),
    "recall.evidence_missing": ("报告了下架、追回、销毁或处理数量，须附证明材料编号",
                                "quantities withdrawn, retrieved, destroyed or reworked need "
                                "evidence references"),
    "recall.approval_required": ("责令召回须经监管部门审核后结束，{enterprise} 不是监管部门",
                                 "an ordered recall is closed by a regulator, whose entry "
                                 "approves the closure; {enterprise} is not one"),
    "recall.not_yours": ("只有召回企业或监管部门可以结束召回 seq {recall}",
                         "only the recalling producer or a regulator closes recall {recall}"),
    "recall.review_missing": ("结束召回须完成“四不放过”评估：缺少{item_zh}",
                              "closing a recall needs the four-part review (四不放过): "
                              "{item_en} is missing"),
    "spot_check.not_regulator": ("抽查计划由监管部门制定，{enterprise} 不是监管部门",
                                 "a spot-check plan is made by a regulator; {enterprise} is "
                                 "not one"),
    "spot_check.frame_duplicate": ("抽查名录中 {uscc} 出现两次",
                                   "{uscc} appears twice in the spot-check frame"),
    "spot_check.empty_frame": ("抽查名录为空，没有可抽取的企业",
                               "the spot-check frame is empty: there is nobody to draw"),
    "spot_check.unknown_plan": ("抽查计划 seq {plan} 不存在（须先单独公布计划及种子承诺）",
                                "no spot-check plan at seq {plan} (the plan, with its seed "
                                "commitment, must be on the ledger before the draw)"),
    "spot_check.not_planner": ("抽查计划 seq {plan} 由 {planner} 制定，只能由其抽取",
                               "spot-check plan {plan} was made by {planner}, who alone "
                               "draws it"),
    "spot_check.already_drawn": ("抽查计划 seq {plan} 已于 seq {draw} 抽取",
                                 "spot-check plan {plan} was already drawn at seq {draw}"),
    "spot_check.seed_mismatch": ("种子与抽查计划 seq {plan} 公布的承诺不符",
                                 "the seed does not match the commitment published with plan "
                                 "{plan}"),
    "spot_check.draw_mismatch": ("抽取结果与按种子复算的结果不一致（计划 seq {plan}）",
                                 "the selection is not what the seed draws from plan {plan}'s "
                                 "frame"),
    "epcis.duplicate": ("EPCIS 事件 {hash_id} 已采集（seq {seq}）",
                        "EPCIS event {hash_id} was already captured (seq {seq})"),
    "epcis.malformed": ("EPCIS 引用 {field_name} 不正确：{problem}",
                        "the EPCIS reference's {field_name} is wrong: {problem}"),
    "gs1.operator_only": ("GS1 厂商识别代码和 GLN 由平台运营方登记，{enterprise} 不能登记",
                          "GS1 company prefixes and GLNs are registered by the ledger "
                          "operator, not by {enterprise}"),
    "gs1.unknown_enterprise": ("企业 {enterprise} 未登记", "enterprise {enterprise} is not "
                               "registered"),
    "gs1.taken": ("{kind} {value} 已属于 {owner}", "{kind} {value} already belongs to {owner}"),
    "credit.not_operator": ("信用等级由账本运营方的信用评价程序记录，{enterprise} 不能记录",
                            "credit grades are recorded by the ledger operator's grading, "
                            "not by {enterprise}"),
    "credit.enterprise_unknown": ("企业 {enterprise} 未登记",
                                  "enterprise {enterprise} is not registered"),
    "credit.previous_mismatch": ("企业 {enterprise} 当前信用等级为 {current}，不是 {previous}",
                                 "enterprise {enterprise} is graded {current}, not {previous}"),
    "credit.unchanged": ("信用等级未变（{grade}），无需记录",
                         "the grade stays {grade}: nothing to record"),
    "credit.evidence_unknown": ("依据 seq {seq} 不在本条之前的账本中",
                                "evidence seq {seq} is not an earlier ledger entry"),
    "credit.evidence_unnamed": ("说明未提及依据 seq {seq}",
                                "the explanation does not name evidence seq {seq}"),
    "credit.not_applicant": ("{enterprise} 不是生产经营企业，不能申请信用评级",
                             "{enterprise} is not a producer and cannot apply for a grade"),
    "credit.application_open": ("企业已有进行中的信用评级申请（seq {application}）",
                                "the enterprise already has an application in progress "
                                "(seq {application})"),
    "credit.not_eligible": ("信用免检须评分不低于 {line} 分，当前 {score} 分",
                            "credit exemption needs a score of at least {line}; the score is "
                            "{score}"),
    "credit.application_unknown": ("信用评级申请 seq {application} 不存在",
                                   "no credit application at seq {application}"),
    "credit.out_of_order": ("申请 seq {application} 当前状态为{state_zh}，下一步应为"
                            "{expected_zh}，不能进行{step_zh}",
                            "application {application} is {state_en}: the next step is "
                            "{expected_en}, not {step_en}"),
    "credit.wrong_role": ("{step_zh}须由{who_zh}进行，{enterprise} 不是",
                          "{step_en} is taken by {who_en}; {enterprise} is not one"),
    "credit.not_regulator": ("违法违规记录由监管部门登记，{enterprise} 不是监管部门",
                             "violations are recorded by a regulator; {enterprise} is not one"),
    "credit.outside_district": ("{enterprise} 不在本监管部门辖区（{district}）",
                                "{enterprise} is outside this regulator's district "
                                "({district})"),
}


def _messages(code: str, params: Mapping[str, Any]) -> tuple[str, str]:
    zh, en = RULES[code]
    return zh.format(**params), en.format(**params)


class RuleViolation(LedgerError):
    """A supervision rule rejects the entry; ``code`` names the rule."""

    def __init__(self, rule: str, field: FieldPath | None, /, **params: Any) -> None:
        self.message_zh, message = _messages(rule, params)
        super().__init__(message, field=field)
        self.code = f"rule.{rule}"


@dataclass(frozen=True)
class Notice:
    """A warning or notice a rule attaches to an entry it lets through."""

    code: str
    level: str
    field: str | None  # rendered: notices are stored and served as text
    message_zh: str
    message_en: str

    @classmethod
    def of(cls, rule: str, level: str, field: FieldPath | None, /, **params: Any) -> Notice:
        """Build the notice of ``rule`` with its messages filled in."""
        return cls(f"rule.{rule}", level, render_field(field), *_messages(rule, params))
