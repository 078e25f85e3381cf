from django.db import migrations
from django.utils import timezone

BODY_JA = """防犯・防災メールにおける個人情報の取扱いについて

1. 収集する情報
   登録に必要なメールアドレスと、受け取りを希望する情報の種類（防災・防犯）のみを収集します。氏名・住所・電話番号などは収集しません。

2. 利用目的
   防災情報・防犯情報の配信、登録完了などのお知らせ、年1回程度の受信確認のためにのみ利用します。

3. 保管と安全管理
   メールアドレスは暗号化して保管し、職員が閲覧する場合は理由を記録します。配信業務は市が委託した事業者が行い、事業者には契約により守秘義務と安全管理措置を課しています。

4. 第三者への提供
   法令に基づく場合を除き、第三者に提供しません。提供する場合は、市の承認を経て日時・提供先・担当者を記録します。

5. 登録の解除と削除
   配信はいつでも停止できます。停止したアドレスには以後配信しません。保存期間は市が定め、期間を過ぎた情報は削除します。

6. 問い合わせ先
   各メールの末尾および登録ページに記載の問い合わせ先までご連絡ください。
"""

BODY_EN = """How personal information is handled in the crime-prevention and disaster mail service

1. What we collect
   Only your e-mail address and the kinds of information you choose (disaster, crime prevention). We do not collect your name, address or phone number.

2. Why
   Only to send disaster and crime-prevention information, notices about your registration, and a receipt check about once a year.

3. Storage and safeguards
   Addresses are stored encrypted; when staff look at one, the reason is recorded. The service is run by a contractor of the city, bound by contract to confidentiality and security measures.

4. Disclosure to third parties
   None, except where the law requires it; then only with the city's approval, recorded with the date, the recipient and the staff member.

5. Leaving and deletion
   You can stop the mail at any time; nothing more is sent to a stopped address. The city sets how long records are kept and deletes them after that period.

6. Inquiries
   See the contact at the end of every mail and on the registration page.
"""


def create(apps, schema_editor):
    PrivacyNotice = apps.get_model("residents", "PrivacyNotice")
    PrivacyNotice.objects.get_or_create(
        version=1, defaults={"body_ja": BODY_JA, "body_en": BODY_EN, "published_at": timezone.now()}
    )


class Migration(migrations.Migration):
    dependencies = [("residents", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
